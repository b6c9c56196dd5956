//! `nexus`: parse the command line and call into `nexus_server`.

use clap::{Parser, Subcommand};
use nexus_kernel::config::Settings;

/// Requests allocate many small, short-lived buffers; mimalloc serves them faster than
/// the system allocator (see the allocator note in bench/RESULTS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "nexus",
    version,
    about = "Nexus: a multi-tenant business platform with AI built in"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Make an email a platform operator (creating the account with NEXUS_ADMIN_PASSWORD).
    CreateAdmin {
        #[arg(long)]
        email: String,
    },
    /// Generate a new master key and re-wrap every workspace's data keys under it.
    RotateMasterKey,
    /// Print the OpenAPI document.
    Openapi,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(err) => {
            eprintln!("nexus: configuration error: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    init_tracing(&settings);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("nexus: cannot start the runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), settings)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("nexus: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let listen = settings.listen.clone();
            let state = nexus_server::build_state(settings).await?;
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
            tracing::info!("Nexus listening on http://{}", listener.local_addr()?);
            nexus_server::serve::serve(state, listener, nexus_server::serve::shutdown_signal())
                .await
        }
        Command::Migrate => {
            nexus_server::bootstrap::migrate(&settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::CreateAdmin { email } => {
            let password = std::env::var("NEXUS_ADMIN_PASSWORD").ok();
            println!(
                "{}",
                nexus_server::commands::create_admin(&settings, &email, password).await?
            );
            Ok(())
        }
        Command::RotateMasterKey => {
            println!(
                "{}",
                nexus_server::commands::rotate_master_key(&settings).await?
            );
            Ok(())
        }
        Command::Openapi => {
            println!(
                "{}",
                nexus_server::app::openapi_document().to_pretty_json()?
            );
            Ok(())
        }
    }
}

fn init_tracing(settings: &Settings) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("NEXUS_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if settings.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
