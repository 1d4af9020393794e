//! The floor of `benches/http.sh`: actix-web answering every `POST /graphql` with one fixed
//! body (what the gateway answers to MyPlans), and nothing else — no token, no parse, no
//! database. The gateway's rate is reported as a share of this one's, measured in the same run
//! on the same machine.
//!
//!   cargo build --release --example floor
//!   target/release/examples/floor 127.0.0.1:8081 myplans-answer.json [WORKERS]

use actix_web::{web, App, HttpResponse, HttpServer};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(bind), Some(body)) = (args.next(), args.next()) else {
        eprintln!("usage: floor BIND_ADDRESS BODY_FILE [WORKERS]");
        std::process::exit(2);
    };
    let body = web::Bytes::from(std::fs::read(body)?);
    let workers = args
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            let body = body.clone();
            App::new().route(
                "/graphql",
                web::post().to(move || {
                    let body = body.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("application/graphql-response+json")
                            .body(body)
                    }
                }),
            )
        })
        .workers(workers)
        .bind(bind)?
        .run()
        .await
    })
}
