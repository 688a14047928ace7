//! Replays every input the fuzzers found a crash with (kept in `fuzz/regressions/TARGET/`
//! once fixed) through the same harness the fuzz targets use (`fuzz/src/harness.rs`), so a
//! fixed crash stays fixed without the nightly toolchain. See `fuzz/run`.

#[path = "../../fuzz/src/harness.rs"]
mod harness;

use crate::support::repo;

#[test]
fn every_kept_fuzz_input_is_handled() {
    let root = repo().join("fuzz/regressions");
    let mut replayed = 0;
    for (name, _) in harness::TARGETS {
        let run = harness::target(name).expect("target");
        // Inputs every target must take: nothing, and bytes that are no text at all.
        run(b"");
        run(&[0xFF; 1024]);
        let dir = root.join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = entries.map(|e| e.expect("entry").path()).collect();
        files.sort();
        for file in files {
            let bytes = std::fs::read(&file).expect("regression input");
            eprintln!("{name}: {}", file.display());
            run(&bytes);
            replayed += 1;
        }
    }
    eprintln!("replayed {replayed} kept fuzz inputs");
    assert!(
        root.is_dir(),
        "fuzz/regressions is missing: the kept crash inputs are part of the tests"
    );
}
