//! Inputs that are not regular files, folders that loop, depth and counts.

use super::*;

#[test]
fn devices_fifos_and_sockets_are_not_read() {
    let dir = tempfile::tempdir().expect("tmp");
    let fifo = dir.path().join("MEDIS20260630.TXT");
    let c_path = std::ffi::CString::new(fifo.to_str().expect("path")).expect("path");
    // SAFETY: a NUL-terminated path and a mode; mkfifo touches nothing else.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo");
    let socket = dir.path().join("MEDIS20260630_HOT9.TXT");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("socket");
    let zero = PathBuf::from("/dev/zero");
    assert!(zero.exists(), "/dev/zero is needed");
    let cases = [vec![zero.clone()], vec![fifo.clone()], vec![socket.clone()]];
    let problems = refused(Master::Hot, &hot_first(), &cases);
    for (problems, (path, what)) in problems.iter().zip([
        (&zero, "a character device"),
        (&fifo, "a named pipe (FIFO)"),
        (&socket, "a socket"),
    ]) {
        let p = only(problems);
        assert_eq!(
            (p.kind, p.file.as_str()),
            ("not_a_regular_file", path.to_str().expect("path"))
        );
        assert_eq!(p.message, format!("this is {what}, not a regular file"));
    }
    // In a folder, the same.
    let problems = parse(Master::Hot, &[dir.path().to_owned()], Limits::default());
    let kinds: Vec<&str> = problems.items().iter().map(|p| p.kind).collect();
    assert_eq!(kinds, ["not_a_regular_file", "not_a_regular_file"]);
}

#[test]
fn a_folder_with_symbolic_links_back_into_itself_is_read_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let release = dir.path().join("20260531");
    std::fs::create_dir(&release).expect("dir");
    for name in ["MEDIS20260531.TXT", "MEDIS20260531_HOT9.TXT"] {
        let from = repo().join("masters/hot/20260531").join(name);
        std::fs::copy(from, release.join(name)).expect("copy");
    }
    std::os::unix::fs::symlink(".", release.join("again")).expect("symlink");
    std::fs::create_dir(release.join("sub")).expect("dir");
    std::os::unix::fs::symlink("..", release.join("sub/back")).expect("symlink");
    let shown = release.display().to_string();
    for db in databases("hostile_loop") {
        assert_eq!(hyojun(&db, &["import", "hot", &shown]), 0, "{}", db.name);
        let stored = db
            .store
            .find_release(Master::Hot, "20260531")
            .expect("release");
        assert_eq!(stored.label, "20260531");
    }
    let options = masters::ParseOptions::default();
    let parsed =
        masters::parse_release(Master::Hot, &[&release], &options, &NoProgress).expect("imports");
    let mut names: Vec<&str> = parsed.files.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    let expected = [
        format!("{shown}/MEDIS20260531.TXT"),
        format!("{shown}/MEDIS20260531_HOT9.TXT"),
    ];
    assert_eq!(names, expected);
}

#[test]
fn folders_stop_at_their_depth_files_at_their_size_and_inputs_at_their_count() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut deep = dir.path().to_owned();
    for level in 0..4 {
        deep = deep.join(format!("level{level}"));
    }
    std::fs::create_dir_all(&deep).expect("dirs");
    write(&deep, "MEDIS20260630.TXT", b"x");
    let shallow = limits(&[(Limit::FolderDepth, 3)]);
    let p = parse(Master::Hot, &[dir.path().to_owned()], shallow);
    let p = only(&p);
    assert_eq!(
        (p.kind, p.file.clone()),
        ("too_deep", deep.display().to_string())
    );
    assert_eq!(
        p.message,
        "the folder is 4 levels below the folder given; the limit is 3 levels (HYOJUN_MAX_FOLDER_DEPTH)"
    );
    // A file that says it is empty (procfs) is still read no further than the limit.
    let status = PathBuf::from("/proc/self/status");
    let small = limits(&[(Limit::FileBytes, 16)]);
    let p = parse(Master::Hot, &[status], small);
    assert_eq!(
        (only(&p).kind, only(&p).message.as_str()),
        (
            "too_large",
            "the file grew past 16 bytes while it was read; the limit is 16 bytes (HYOJUN_MAX_FILE_BYTES)"
        )
    );
    let few = limits(&[(Limit::InputFiles, 1)]);
    let p = parse(Master::Hot, &hot_first(), few);
    let p = only(&p);
    assert_eq!(p.kind, "too_many_files");
    assert!(p.file.ends_with("MEDIS20260531_HOT9.TXT"), "{p}");
    assert_eq!(
        p.message,
        "the input holds more than 1 files (loose files, folder entries and zip members together); the limit is 1 files (HYOJUN_MAX_INPUT_FILES)"
    );
}
