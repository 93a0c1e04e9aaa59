use clap::Parser;

/// mimalloc: per-thread free lists instead of glibc's arenas, which spent about 12 % of the
/// server's CPU in `malloc`/`free` on checkout (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let _ = dotenvy::dotenv();
    tills_server::telemetry::init_logging();
    let cli = tills_server::cli::Cli::parse();
    match tills_server::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
