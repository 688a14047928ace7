//! Diesel table definitions, shared by both backends (see `migrations/`).

diesel::table! {
    code_systems (key) {
        key -> Text,
        master -> Text,
        name -> Text,
        canonical_url -> Nullable<Text>,
        description -> Text,
    }
}

diesel::table! {
    code_system_aliases (alias) {
        alias -> Text,
        system_key -> Text,
    }
}

diesel::table! {
    releases (id) {
        id -> BigInt,
        master -> Text,
        label -> Text,
        revision -> BigInt,
        publication_date -> Nullable<Date>,
        effective_date -> Nullable<Date>,
        state -> Text,
        previous_release_id -> Nullable<BigInt>,
        content_sha256 -> Text,
        row_count -> BigInt,
        imported_at -> Timestamp,
        imported_by -> Text,
        carried_over -> Nullable<Text>,
    }
}

diesel::table! {
    release_files (release_id, position) {
        release_id -> BigInt,
        position -> BigInt,
        name -> Text,
        role -> Text,
        sha256 -> Text,
        byte_size -> BigInt,
        row_count -> BigInt,
        encoding -> Text,
    }
}

diesel::table! {
    release_stats (release_id, system_key) {
        release_id -> BigInt,
        system_key -> Text,
        row_count -> BigInt,
        code_count -> BigInt,
        added -> BigInt,
        removed -> BigInt,
        changed -> BigInt,
    }
}

diesel::table! {
    release_notices (release_id, position) {
        release_id -> BigInt,
        position -> BigInt,
        file -> Text,
        line -> Nullable<BigInt>,
        column_name -> Nullable<Text>,
        kind -> Text,
        message -> Text,
    }
}

diesel::table! {
    concepts (id) {
        id -> BigInt,
        master -> Text,
        system_key -> Text,
        code -> Text,
        row_key -> Text,
        content_hash -> Text,
        valid_from -> BigInt,
        valid_to -> Nullable<BigInt>,
        status -> Text,
        display -> Text,
        attributes -> Text,
        designations -> Text,
        links -> Text,
    }
}

diesel::table! {
    concept_links (system_key, code, relation, concept_id) {
        system_key -> Text,
        code -> Text,
        relation -> Text,
        concept_id -> BigInt,
    }
}

diesel::table! {
    release_changes (release_id, system_key, code) {
        release_id -> BigInt,
        system_key -> Text,
        code -> Text,
        kind -> Text,
        display -> Text,
        fields -> Text,
    }
}

diesel::table! {
    activations (id) {
        id -> BigInt,
        master -> Text,
        release_id -> BigInt,
        effective_from -> Timestamp,
        activated_at -> Timestamp,
        activated_by -> Text,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        name -> Text,
        role -> Text,
        key_prefix -> Text,
        key_hash -> Text,
        created_at -> Timestamp,
        created_by -> Text,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        target -> Text,
        outcome -> Text,
        detail -> Text,
    }
}

diesel::table! {
    jobs (id) {
        id -> BigInt,
        kind -> Text,
        master -> Text,
        state -> Text,
        node -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        request -> Text,
        progress -> Text,
        problems -> Text,
        result -> Nullable<Text>,
        release_id -> Nullable<BigInt>,
        heartbeat_at -> Nullable<Timestamp>,
        attempts -> Integer,
        run_after -> Nullable<Timestamp>,
        upload_store -> Nullable<Text>,
    }
}

diesel::table! {
    store_lock (id) {
        id -> BigInt,
        generation -> BigInt,
    }
}

diesel::table! {
    mapping_projects (id) {
        id -> BigInt,
        name -> Text,
        description -> Text,
        local_system -> Text,
        target_systems -> Text,
        four_eyes -> Bool,
        revision -> BigInt,
        created_at -> Timestamp,
        created_by -> Text,
    }
}

diesel::table! {
    local_codes (project_id, code) {
        project_id -> BigInt,
        code -> Text,
        name -> Text,
        unit -> Nullable<Text>,
        specimen -> Nullable<Text>,
        frequency -> Nullable<BigInt>,
        category -> Nullable<Text>,
        extra -> Text,
        withdrawn -> Bool,
        previous_name -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    mappings (project_id, local_code) {
        project_id -> BigInt,
        local_code -> Text,
        state -> Text,
        target_system -> Nullable<Text>,
        target_code -> Nullable<Text>,
        target_display -> Nullable<Text>,
        equivalence -> Nullable<Text>,
        comment -> Text,
        author -> Nullable<Text>,
        reviewer -> Nullable<Text>,
        assignee -> Nullable<Text>,
        flag_reason -> Nullable<Text>,
        target_release -> Nullable<Text>,
        version -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    mapping_candidates (project_id, local_code, rank) {
        project_id -> BigInt,
        local_code -> Text,
        rank -> BigInt,
        target_system -> Text,
        target_code -> Text,
        target_display -> Text,
        score -> Double,
        reasons -> Text,
    }
}

diesel::table! {
    mapping_checks (master) {
        master -> Text,
        release_id -> BigInt,
        checked_at -> Timestamp,
    }
}

diesel::table! {
    mapping_history (id) {
        id -> BigInt,
        project_id -> BigInt,
        local_code -> Text,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        from_state -> Text,
        to_state -> Text,
        changes -> Text,
    }
}

diesel::joinable!(concept_links -> concepts (concept_id));
diesel::joinable!(release_files -> releases (release_id));
diesel::joinable!(release_stats -> releases (release_id));
diesel::joinable!(activations -> releases (release_id));

diesel::allow_tables_to_appear_in_same_query!(
    mapping_projects,
    local_codes,
    mappings,
    mapping_history,
    mapping_checks,
    mapping_candidates,
    code_systems,
    code_system_aliases,
    releases,
    release_files,
    release_stats,
    release_notices,
    concepts,
    concept_links,
    release_changes,
    activations,
    api_keys,
    audit_log,
    jobs,
    store_lock,
);
