//! The HTTP app, started in-process, and the committed OpenAPI document.

use actix_web::test;

use hyojun::api::{app, AppState};

use crate::support::databases;

#[actix_web::test]
async fn healthz_answers_and_unknown_paths_get_the_error_envelope() {
    for db in databases("healthz") {
        let service = test::init_service(app(AppState {
            store: db.store.clone(),
        }))
        .await;
        let response = test::call_service(
            &service,
            test::TestRequest::get().uri("/healthz").to_request(),
        )
        .await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = test::read_body_json(response).await;
        assert_eq!(body["status"], "ok");

        let response =
            test::call_service(&service, test::TestRequest::get().uri("/nope").to_request()).await;
        assert_eq!(response.status(), 404);
        let body: serde_json::Value = test::read_body_json(response).await;
        assert_eq!(body["error"]["code"], "not_found");
    }
}

#[::core::prelude::v1::test]
fn committed_openapi_document_is_fresh() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    let generated = hyojun::api::openapi().to_pretty_json().expect("render") + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test --test it openapi` and commit it"
    );
}
