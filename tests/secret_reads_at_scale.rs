//! Secrets Manager reads under a flood of forged deliveries during a scale-out: 50 new
//! processes, each its own function state reading one shared secret, answer 1,000 bad
//! signatures between them. Each process reads the secret at init and then at most
//! once a minute, that read included, so the reads are bounded by the processes and the
//! minutes, never by the deliveries. The counts are printed for the README.

mod support;

use chrono::{DateTime, TimeDelta, Utc};
use lambda_http::http::StatusCode;
use merge_deprovision::app::keys::MIN_REFRESH_GAP;
use merge_deprovision::aws::memory::MemorySecrets;
use merge_deprovision::lambda::handler::answer_event;
use merge_deprovision::lambda::state::App;
use merge_deprovision_samples::{LOCAL_TEST_KEY, Signing, ready};
use std::sync::Arc;
use support::{now, post, secret_app};

const PROCESSES: usize = 50;
const BAD_SIGNATURES: usize = 1_000;
const BODY: &[u8] =
    br#"{"hook":{"event":"Employee.changed"},"data":{"id":"e1","employment_status":"INACTIVE"}}"#;

/// What a flood cost: the secret's reads, and the bound the function promises for it.
struct Cost {
    reads: usize,
    bound: usize,
}

/// Starts `PROCESSES` processes on one secret, the `p`th `loaded_ago(p)` before [`now`],
/// then sends the bad signatures round-robin, the `i`th at `at(i)`.
///
/// The bound: each process reads at init, then at most once per [`MIN_REFRESH_GAP`]
/// counted from that read, so a process that lived `age` when its last forged delivery
/// came made at most `1 + age / gap` reads.
fn flood(loaded_ago: impl Fn(usize) -> TimeDelta, at: impl Fn(usize) -> DateTime<Utc>) -> Cost {
    let store = Arc::new(MemorySecrets::with("merge/webhook-key", LOCAL_TEST_KEY));
    let processes: Vec<App> = (0..PROCESSES)
        .map(|p| secret_app(store.clone(), loaded_ago(p)))
        .collect();
    assert_eq!(store.reads(), PROCESSES, "one read per process at init");
    let forged = post(BODY, Signing::WrongKey);
    let mut oldest = vec![TimeDelta::zero(); PROCESSES];
    for i in 0..BAD_SIGNATURES {
        let p = i % PROCESSES;
        let answered =
            ready(answer_event(&processes[p], &forged, at(i))).expect("the handler answers");
        assert_eq!(answered.response.status(), StatusCode::UNAUTHORIZED);
        oldest[p] = oldest[p].max(at(i) - (now() - loaded_ago(p)));
    }
    let gap = MIN_REFRESH_GAP.num_milliseconds();
    let bound = oldest
        .iter()
        .map(|age| 1 + (age.num_milliseconds() / gap) as usize)
        .sum();
    Cost {
        reads: store.reads(),
        bound,
    }
}

#[test]
fn a_burst_at_scale_out_costs_one_read_per_process_the_one_at_init() {
    // Every process started at `now`; the thousand arrive within the next second.
    let cost = flood(
        |_| TimeDelta::zero(),
        |i| now() + TimeDelta::milliseconds(i as i64),
    );
    println!(
        "burst: {PROCESSES} new processes, {BAD_SIGNATURES} bad signatures in 1 s: {} reads",
        cost.reads
    );
    assert_eq!((cost.reads, cost.bound), (PROCESSES, PROCESSES));
}

#[test]
fn a_flood_over_five_minutes_costs_at_most_one_read_a_minute_per_process() {
    let step = TimeDelta::minutes(5).num_milliseconds() / BAD_SIGNATURES as i64;
    let cost = flood(
        |_| TimeDelta::zero(),
        |i| now() + TimeDelta::milliseconds(i as i64 * step),
    );
    println!(
        "5 minutes: {PROCESSES} processes, {BAD_SIGNATURES} bad signatures: {} reads (bound {})",
        cost.reads, cost.bound
    );
    assert!(cost.reads <= cost.bound, "{} > {}", cost.reads, cost.bound);
}

#[test]
fn a_staggered_scale_out_costs_one_read_per_process_within_its_first_minute() {
    // One new process a second; each gets its twenty within its first 40 seconds.
    let cost = flood(
        |p| TimeDelta::seconds(-(p as i64)),
        |i| {
            let process = (i % PROCESSES) as i64;
            let round = (i / PROCESSES) as i64;
            now() + TimeDelta::seconds(process + 2 * round)
        },
    );
    println!(
        "staggered: {PROCESSES} processes a second apart, {BAD_SIGNATURES} bad signatures: {} reads",
        cost.reads
    );
    assert_eq!((cost.reads, cost.bound), (PROCESSES, PROCESSES));
}
