//! moat's SSE decoder (`moat_upstream::SseDecoder`), which reads every event-stream answer of an
//! upstream: many small events, and one large event arriving in network-sized chunks (its cost
//! per byte should not grow with the event's size).

// Benchmarks are tests: fixed inputs that cannot fail; a panic is the right report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use moat_upstream::SseDecoder;

fn event(data_bytes: usize, id: usize) -> Vec<u8> {
    let data: String = (0..data_bytes)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    format!(
        "id: {id}\nevent: message\ndata: {{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"content\":[{{\"type\":\"text\",\"text\":\"{data}\"}}]}}}}\n\n"
    )
    .into_bytes()
}

fn small_events(c: &mut Criterion) {
    let stream: Vec<u8> = (0..100).flat_map(|i| event(200, i)).collect();
    let mut g = c.benchmark_group("sse");
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("100 events of 300 B, one chunk each", |b| {
        b.iter(|| {
            let mut d = SseDecoder::new(64 << 20);
            let mut n = 0;
            for chunk in stream.chunks(stream.len() / 100) {
                n += d.feed(black_box(chunk)).unwrap().len();
            }
            black_box(n)
        })
    });
    g.finish();
}

fn large_event(c: &mut Criterion) {
    let mut g = c.benchmark_group("sse one large event in 16 KiB chunks");
    g.sample_size(10);
    for size in [64usize << 10, 1 << 20, 4 << 20] {
        let ev = event(size, 1);
        g.throughput(Throughput::Bytes(ev.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &ev, |b, ev| {
            b.iter(|| {
                let mut d = SseDecoder::new(64 << 20);
                let mut n = 0;
                for chunk in ev.chunks(16 << 10) {
                    n += d.feed(black_box(chunk)).unwrap().len();
                }
                assert_eq!(n, 1);
                black_box(n)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, small_events, large_event);
criterion_main!(benches);
