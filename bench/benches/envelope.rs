//! The JSON-RPC envelope on moat's hot path: every client message is parsed once
//! (`parse_body`), `tools/call` is routed by reading `params.name` (`object_field`) and, when the
//! name is prefixed, rewriting it (`with_field`); every answer is parsed from the upstream and
//! re-serialised to the client (`Message::parse`, `to_bytes`).

// Benchmarks are tests: fixed inputs that cannot fail; a panic is the right report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use moat_proto::{Message, RawValue, object_field, parse_body, with_field};

fn request(text_bytes: usize) -> String {
    let text: String = (0..text_bytes)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    format!(
        r#"{{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{{"name":"github__create_issue","arguments":{{"owner":"acme","repo":"moat","title":"Benchmark","body":"{text}","labels":["perf","bench"]}},"_meta":{{"progressToken":"p-42"}}}}}}"#
    )
}

fn response(text_bytes: usize) -> String {
    let text: String = (0..text_bytes)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    format!(
        r#"{{"jsonrpc":"2.0","id":42,"result":{{"content":[{{"type":"text","text":"{text}"}}],"structuredContent":{{"number":1234,"url":"https://example.invalid/acme/moat/issues/1234"}},"isError":false}}}}"#
    )
}

fn envelope(c: &mut Criterion) {
    let mut g = c.benchmark_group("envelope");
    for size in [64usize, 1024, 16 * 1024] {
        let req = request(size);
        let resp = response(size);
        g.throughput(Throughput::Bytes(req.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("request parse_body+to_bytes", size),
            &req,
            |b, r| {
                b.iter(|| {
                    let Ok(moat_proto::Batch::Single(m)) = parse_body(black_box(r.as_bytes()))
                    else {
                        panic!("not a message")
                    };
                    black_box(m.to_bytes())
                })
            },
        );
        g.throughput(Throughput::Bytes(resp.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("response parse+to_bytes", size),
            &resp,
            |b, r| {
                b.iter(|| black_box(Message::parse(black_box(r.as_bytes())).unwrap().to_bytes()))
            },
        );
    }
    g.finish();
}

fn params(c: &mut Criterion) {
    let mut g = c.benchmark_group("params");
    for size in [64usize, 1024, 16 * 1024] {
        let Ok(Message::Request(req)) = Message::parse(request(size).as_bytes()) else {
            panic!("not a request")
        };
        let p = req.params.expect("params");
        let name = RawValue::from_string(r#""create_issue""#.to_owned()).unwrap();
        g.bench_with_input(BenchmarkId::new("object_field name", size), &p, |b, p| {
            b.iter(|| black_box(object_field::<String>(Some(black_box(p)), "name")))
        });
        g.bench_with_input(BenchmarkId::new("with_field name", size), &p, |b, p| {
            b.iter(|| black_box(with_field(black_box(p), "name", &name)))
        });
    }
    g.finish();
}

criterion_group!(benches, envelope, params);
criterion_main!(benches);
