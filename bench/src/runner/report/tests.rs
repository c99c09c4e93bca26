use std::time::Duration;

use super::*;
use crate::load::Outcome;
use crate::runner::measure::{CpuUse, PhaseRun, RoundRun};

fn phase(rate: Option<f64>, calls: u64, latency_us: u64, moat_ms: u64) -> PhaseRun {
    let mut outcome = Outcome {
        calls,
        elapsed: Duration::from_secs(1),
        ..Outcome::default()
    };
    for _ in 0..calls {
        outcome.latencies.record(Duration::from_micros(latency_us));
    }
    PhaseRun {
        rate,
        connections: 4,
        outcome,
        cpu: CpuUse {
            moat: (moat_ms > 0).then(|| Duration::from_millis(moat_ms)),
            upstream: None,
            client: Duration::from_millis(10),
        },
        moat_rss_max: None,
    }
}

fn rounds(latency_us: u64, moat_ms: u64) -> Vec<RoundRun> {
    (0..2)
        .map(|_| RoundRun {
            closed: phase(None, 1000, latency_us, moat_ms),
            open: vec![phase(Some(1000.0), 500, latency_us, moat_ms)],
        })
        .collect()
}

#[test]
fn rounds_merge_and_cpu_is_per_call() {
    let c = config_report("moat", "d", &rounds(300, 20), Some(1));
    assert_eq!(c.saturation.calls, 2000);
    assert_eq!(c.saturation.throughput_per_round, vec![1000.0, 1000.0]);
    // 2 × 20 ms over 2,000 calls = 20 µs per call.
    assert!((c.saturation.moat_cpu_us.unwrap() - 20.0).abs() < 1e-9);
    assert!((c.saturation.client_cpu_us - 10.0).abs() < 1e-9);
    assert_eq!(c.rates[0].calls, 1000);
}

#[test]
fn added_latency_is_against_direct_at_the_same_rate() {
    let mut configs = vec![
        config_report("direct", "d", &rounds(200, 0), None),
        config_report("moat", "m", &rounds(300, 20), Some(1)),
    ];
    add_deltas(&mut configs);
    assert!(configs[0].rates[0].added_vs_direct.is_none());
    let added = configs[1].rates[0].added_vs_direct.unwrap();
    assert!((added.p50_us - 100.0).abs() < 1.0, "{added:?}");
    let verdicts = crate::runner::verdicts::judge(&configs, None, &[]);
    let cpu = verdicts
        .iter()
        .find(|v| v.target.contains("25 µs") && v.on.contains("saturation"))
        .unwrap();
    assert_eq!(cpu.verdict, "met");
    assert!(
        verdicts
            .iter()
            .any(|v| v.on.starts_with("moat-auth") && v.verdict == "not measured in this run")
    );
}
