//! The batch-validation answer written two ways (issue 13): the hand-written writer the
//! service uses ([`hyojun::api::validate_json::ResultWriter`]) against serde with borrowed
//! fields (no owned strings per result: `&str` into the request and the cached statuses),
//! streamed one result at a time into the same pre-sized buffer, and, as a third line, serde
//! over one `Vec` of the borrowed results. All three must write the same bytes (checked
//! before timing). 10,000 results of a realistic mix — 70 % valid with a Japanese display,
//! 15 % unknown, 10 % retired with a successor, 5 % a display that does not match — and the
//! median of the rounds, which alternate the writers.
//!
//! ```sh
//! cargo run --release --example validate_answer            # 10,000 results, 301 rounds
//! cargo run --release --example validate_answer -- 1000 101
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde::ser::Serializer;
use serde::Serialize;

use hyojun::api::validate_json::ResultWriter;
use hyojun::store::lookup::{CodeRef, CodeStatus};

/// One result with every text borrowed.
#[derive(Serialize)]
struct Borrowed<'a> {
    index: usize,
    system: &'a str,
    code: &'a str,
    result: &'static str,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_display: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty", serialize_with = "refs")]
    successors: &'a [CodeRef],
    #[serde(skip_serializing_if = "Option::is_none")]
    release: Option<&'a str>,
}

#[derive(Serialize)]
struct Ref<'a> {
    system: &'a str,
    code: &'a str,
}

fn refs<S: Serializer>(list: &&[CodeRef], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(list.iter().map(|r| Ref {
        system: &r.system,
        code: &r.code,
    }))
}

#[derive(Serialize)]
struct Answer<'a> {
    results: Vec<Borrowed<'a>>,
    releases: Releases<'a>,
}

struct Releases<'a>(&'a [(&'a str, &'a str)]);

impl Serialize for Releases<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().copied())
    }
}

/// One item of the request and what the service found for it.
struct Item {
    code: String,
    result: &'static str,
    status: Option<usize>,
}

const RELEASE: &str = "20260630";
const RELEASES: [(&str, &str); 1] = [("hot", RELEASE)];

fn items(n: usize) -> (Vec<Item>, Vec<CodeStatus>) {
    let mut statuses = Vec::new();
    let mut items = Vec::with_capacity(n);
    for i in 0..n {
        let code = format!("{:09}", 100_000_000 + i * 7);
        let (result, status) = match i % 20 {
            0..=13 | 19 => {
                let mut s = CodeStatus {
                    present: true,
                    active: true,
                    ..CodeStatus::default()
                };
                s.names
                    .set_display(&format!("ヒョウジュンロン錠{}ｍｇ「ミホン」{}", i % 50, i));
                statuses.push(s);
                let result = if i % 20 == 19 {
                    "invalid_display"
                } else {
                    "valid"
                };
                (result, Some(statuses.len() - 1))
            }
            14..=16 => ("unknown", None),
            _ => {
                let mut s = CodeStatus {
                    successors: vec![CodeRef {
                        system: "hot9".into(),
                        code: format!("{:09}", 200_000_000 + i),
                    }],
                    ..CodeStatus::default()
                };
                s.names.set_display(&format!("旧販売名{i}錠"));
                statuses.push(s);
                ("retired", Some(statuses.len() - 1))
            }
        };
        items.push(Item {
            code,
            result,
            status,
        });
    }
    (items, statuses)
}

fn hand_written(items: &[Item], statuses: &[CodeStatus]) -> Vec<u8> {
    let mut w = ResultWriter::new(items.len());
    for (index, item) in items.iter().enumerate() {
        let status = item.status.map(|s| &statuses[s]);
        w.result(
            index,
            "hot9",
            &item.code,
            item.result,
            status,
            Some(RELEASE),
        );
    }
    w.finish(RELEASES.iter().copied())
}

fn borrowed<'a>(index: usize, item: &'a Item, statuses: &'a [CodeStatus]) -> Borrowed<'a> {
    let status = item.status.map(|s| &statuses[s]);
    Borrowed {
        index,
        system: "hot9",
        code: &item.code,
        result: item.result,
        valid: item.result == "valid",
        expected_display: status.and_then(CodeStatus::display),
        successors: status.map_or(&[], |s| s.successors.as_slice()),
        release: Some(RELEASE),
    }
}

fn serde_streamed(items: &[Item], statuses: &[CodeStatus]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + items.len() * 200);
    out.extend_from_slice(b"{\"results\":[");
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, &borrowed(index, item, statuses)).expect("json");
    }
    out.extend_from_slice(b"],\"releases\":");
    serde_json::to_writer(&mut out, &Releases(&RELEASES)).expect("json");
    out.push(b'}');
    out
}

fn serde_whole(items: &[Item], statuses: &[CodeStatus]) -> Vec<u8> {
    let answer = Answer {
        results: items
            .iter()
            .enumerate()
            .map(|(i, item)| borrowed(i, item, statuses))
            .collect(),
        releases: Releases(&RELEASES),
    };
    let mut out = Vec::with_capacity(64 + items.len() * 200);
    serde_json::to_writer(&mut out, &answer).expect("json");
    out
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(10_000, |a| a.parse().expect("a count"));
    let rounds: usize = args.next().map_or(301, |a| a.parse().expect("rounds"));
    let (items, statuses) = items(n);
    let reference = hand_written(&items, &statuses);
    assert_eq!(serde_streamed(&items, &statuses), reference, "streamed");
    assert_eq!(serde_whole(&items, &statuses), reference, "whole");
    type Writer = fn(&[Item], &[CodeStatus]) -> Vec<u8>;
    let writers: [(&str, Writer); 3] = [
        ("hand-written ResultWriter", hand_written),
        ("serde, borrowed, streamed", serde_streamed),
        ("serde, borrowed, one Vec", serde_whole),
    ];
    let mut times = vec![Vec::with_capacity(rounds); writers.len()];
    for round in 0..rounds {
        for k in 0..writers.len() {
            let k = (k + round) % writers.len();
            let started = Instant::now();
            black_box(writers[k].1(black_box(&items), black_box(&statuses)));
            times[k].push(started.elapsed());
        }
    }
    let base = median(times[0].clone());
    println!(
        "{n} results, {} bytes, median of {rounds} rounds",
        reference.len()
    );
    for ((name, _), t) in writers.iter().zip(times) {
        let m = median(t);
        println!(
            "{name:<28} {:>9.1} µs  {:>5.2}× the hand-written writer",
            m.as_secs_f64() * 1e6,
            m.as_secs_f64() / base.as_secs_f64()
        );
    }
}
