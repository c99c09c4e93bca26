//! The Markdown tables of a report (what BENCHMARKS.md shows).

use std::fmt::Write as _;

use super::report::{PhaseReport, Report};

const MB: f64 = 1024.0 * 1024.0;

/// Renders the report.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    header(&mut s, r);
    saturation(&mut s, r);
    rates(&mut s, r);
    memory(&mut s, r);
    payloads(&mut s, r);
    if let Some(l) = &r.federated_list {
        let _ = writeln!(
            s,
            "\n### tools/list of {} tools\n\n| path | p50 ms | p99 ms | moat CPU per list |\n|---|---:|---:|---:|\n\
             | moat, merging 10 upstream lists | {} | {} | {:.0} µs |\n| one upstream listing all, direct | {} | {} | — |",
            l.tools,
            ms(l.via_moat.p50_us),
            ms(l.via_moat.p99_us),
            l.moat_cpu_us,
            ms(l.direct.p50_us),
            ms(l.direct.p99_us),
        );
    }
    targets(&mut s, r);
    s
}

fn header(s: &mut String, r: &Report) {
    let m = &r.machine;
    let _ = writeln!(
        s,
        "## Results {} ({}, `{}` mode)\n\n{} cores ({}), {:.1} GiB, Linux {}; {} build. Load average before: {}; after: {}. \
         Closed loop: {} connections; fixed rates: {} connections; `echo` text {} bytes; {} round(s), A/B interleaved. \
         Errors in the whole run: {}.\n",
        r.date,
        r.commit,
        r.plan.mode,
        m.cores,
        m.cpu,
        m.memory as f64 / MB / 1024.0,
        m.kernel,
        if m.release_build { "release" } else { "debug" },
        m.load_before,
        m.load_after,
        r.plan.connections,
        r.plan.open_connections,
        r.plan.text_bytes,
        r.plan.rounds,
        r.errors,
    );
}

fn saturation(s: &mut String, r: &Report) {
    let direct = r
        .configurations
        .iter()
        .find(|c| c.name == "direct")
        .map(|c| c.saturation.throughput);
    s.push_str(
        "### Saturation (closed loop)\n\n| configuration | calls/s (per round) | × direct | p50 ms | p99 ms | moat CPU/call | upstream CPU/call | client CPU/call | moat RSS under load |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for c in &r.configurations {
        let p = &c.saturation;
        let rounds: Vec<String> = p
            .throughput_per_round
            .iter()
            .map(|t| format!("{t:.0}"))
            .collect();
        let ratio = direct.map_or("—".into(), |d| {
            format!("{:.2}", p.throughput / d.max(1e-9))
        });
        let _ = writeln!(
            s,
            "| {} | {:.0} ({}) | {ratio} | {} | {} | {} | {} | {:.1} µs | {} |",
            c.name,
            p.throughput,
            rounds.join(", "),
            ms(p.latency.p50_us),
            ms(p.latency.p99_us),
            us(p.moat_cpu_us),
            us(p.upstream_cpu_us),
            p.client_cpu_us,
            mb(c.moat_rss_under_load),
        );
    }
}

fn rates(s: &mut String, r: &Report) {
    s.push_str(
        "\n### Fixed rates (open loop, latency from the intended send time)\n\n\
         | configuration | rate/s | achieved/s | p50 ms | p90 ms | p99 ms | p99.9 ms | added p50 | added p99 | moat CPU/call | errors |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for c in &r.configurations {
        for p in &c.rates {
            let _ = writeln!(s, "| {} | {} |", c.name, rate_row(p));
        }
    }
    if let Some(lag) = r
        .configurations
        .iter()
        .flat_map(|c| &c.rates)
        .filter_map(|p| p.send_lag)
        .max_by(|a, b| a.p99_us.total_cmp(&b.p99_us))
    {
        let _ = writeln!(
            s,
            "\nThe load generator's own sending lateness (included above) was at most p50 {} ms, p99 {} ms in any phase.",
            ms(lag.p50_us),
            ms(lag.p99_us)
        );
    }
}

fn rate_row(p: &PhaseReport) -> String {
    let added = |f: fn(&super::report::Added) -> f64| {
        p.added_vs_direct.as_ref().map_or("—".into(), |a| ms(f(a)))
    };
    format!(
        "{:.0} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {}",
        p.rate.unwrap_or_default(),
        p.throughput,
        ms(p.latency.p50_us),
        ms(p.latency.p90_us),
        ms(p.latency.p99_us),
        ms(p.latency.p999_us),
        added(|a| a.p50_us),
        added(|a| a.p99_us),
        us(p.moat_cpu_us),
        p.errors,
    )
}

fn memory(s: &mut String, r: &Report) {
    s.push_str("\n### moat memory\n\n| configuration | RSS idle | RSS under load (max sampled) |\n|---|---:|---:|\n");
    for c in r
        .configurations
        .iter()
        .filter(|c| c.moat_rss_idle.is_some())
    {
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            c.name,
            mb(c.moat_rss_idle),
            mb(c.moat_rss_under_load)
        );
    }
    if let Some(i) = &r.idle_sessions {
        let added = i.rss_with_sessions.saturating_sub(i.rss_idle);
        let _ = writeln!(
            s,
            "\nFresh moat (one HTTP upstream): {} idle; with {} idle sessions (initialize only) {}: +{} ({:.1} KB per session; opened at {:.0}/s).",
            mb(Some(i.rss_idle)),
            i.sessions,
            mb(Some(i.rss_with_sessions)),
            mb(Some(added)),
            added as f64 / 1024.0 / i.sessions.max(1) as f64,
            i.opened_per_s,
        );
    }
}

fn payloads(s: &mut String, r: &Report) {
    if r.payloads.is_empty() {
        return;
    }
    s.push_str(
        "\n### Large results through moat\n\n| upstream answers | result | direct ms | via moat ms | moat CPU/call | moat RSS before | peak | peak above before | × result |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for p in &r.payloads {
        let above = p.moat_rss_peak.saturating_sub(p.moat_rss_before);
        let via = match &p.error {
            Some(e) => format!("failed: {e}"),
            None => format!("{:.1}", p.moat_ms),
        };
        let _ = writeln!(
            s,
            "| {} | {:.0} MB | {:.1} | {via} | {:.1} ms | {} | {} | {} | {:.1} |",
            p.upstream_framing,
            p.size as f64 / MB,
            p.direct_ms,
            p.moat_cpu_ms,
            mb(Some(p.moat_rss_before)),
            mb(Some(p.moat_rss_peak)),
            mb(Some(above)),
            above as f64 / p.size.max(1) as f64,
        );
    }
}

fn targets(s: &mut String, r: &Report) {
    s.push_str("\n### Targets (issue 3)\n\n| target | configuration | measured | verdict |\n|---|---|---|---|\n");
    for v in &r.targets {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            v.target, v.on, v.measured, v.verdict
        );
    }
}

fn ms(us: f64) -> String {
    format!("{:.3}", us / 1000.0)
}

fn us(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{v:.1} µs"))
}

fn mb(b: Option<u64>) -> String {
    b.map_or("—".into(), |b| format!("{:.1} MB", b as f64 / MB))
}
