//! `hearth-server`: a thin binary over the library.

use std::process::ExitCode;

use clap::Parser;
use hearth_server::cli::{
    AdminCommand, Cli, Command, ImportArgs, TechnicianCommand, ThermometerCommand, open_storage,
};
use hearth_server::import::ImportError;
use hearth_server::{admin, app, state};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hearth-server: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let now = || chrono::Utc::now().timestamp_millis();
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Admin { database, command } => {
            let storage = open_storage(&database).await.map_err(|e| e.to_string())?;
            let s = storage.as_ref();
            let line = match command {
                AdminCommand::OperatorToken => admin::operator_token(s, now()).await,
                AdminCommand::OperatorAdd { username, name, roles, password_stdin: _ } => {
                    hearth_server::cli::operator_add(s, &username, &name, &roles, now()).await
                }
                AdminCommand::OperatorDisable { username } => {
                    hearth_server::cli::operator_disable(s, &username).await
                }
                AdminCommand::DeviceCode => admin::device_code(s, now()).await,
                AdminCommand::Technician { command: TechnicianCommand::Add { id, name, phone } } => {
                    admin::technician_add(s, &id, &name, &phone, now()).await
                }
                AdminCommand::TechnicianCode { id } => admin::technician_code(s, &id, now()).await,
                AdminCommand::Thermometer {
                    command: ThermometerCommand::Add { serial, certificate, valid_until },
                } => admin::thermometer_add(s, &serial, &certificate, &valid_until, now()).await,
                AdminCommand::RevokeDevice { device_id } => admin::revoke_device(s, &device_id, now()).await,
                AdminCommand::RevokeTechnician { kid } => {
                    admin::revoke_technician(s, &kid, now(), now()).await
                }
            }
            .map_err(|e| e.to_string())?;
            println!("{line}");
            Ok(())
        }
        Command::Import(args) => import(args).await,
        Command::Demo { database } => {
            let storage = open_storage(&database).await.map_err(|e| e.to_string())?;
            let summary =
                hearth_server::demo::fill(storage.as_ref(), now()).await.map_err(|e| e.to_string())?;
            println!("{summary}");
            Ok(())
        }
    }
}

/// `import FILE`: the file is checked whole before the database is opened,
/// so a damaged file touches nothing.
async fn import(args: ImportArgs) -> Result<(), String> {
    let failed = |e: ImportError| format!("import failed ({}): {e}", e.code());
    let limits = state::Limits::default();
    let file = hearth_server::import::check_file(&args.file, &limits).await.map_err(failed)?;
    let exported = chrono::DateTime::from_timestamp_millis(file.header.exported_at_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| file.header.exported_at_ms.to_string());
    println!(
        "{}: rescue file of device {} exported at {exported}: {} entries, {} blobs",
        args.file.display(),
        file.header.device_id,
        file.entries.len(),
        file.blobs.len()
    );
    let storage = open_storage(&args.database).await.map_err(|e| e.to_string())?;
    let key_file = args
        .server_key_file
        .unwrap_or_else(|| hearth_server::server_key::default_path(&args.database, &args.blobs));
    let key = hearth_server::server_key::load_or_create(&key_file, storage.as_ref()).await?;
    let state = app::state_with_key(storage, key, args.blobs, state::system_clock(), limits)
        .await
        .map_err(|e| e.message)?;
    let summary = hearth_server::import::import(&state, file).await.map_err(failed)?;
    if summary.needs_review > 0 {
        println!("{} of the accepted entries need review (flags on their receipts)", summary.needs_review);
    }
    println!("{summary}");
    Ok(())
}

async fn serve(args: hearth_server::cli::ServeArgs) -> Result<(), String> {
    let storage = open_storage(&args.database).await.map_err(|e| e.to_string())?;
    if args.demo {
        let now = chrono::Utc::now().timestamp_millis();
        let s = storage.as_ref();
        println!("{}", hearth_server::demo::fill(s, now).await.map_err(|e| e.to_string())?);
        println!(
            "office operator token: {}",
            admin::operator_token(s, now).await.map_err(|e| e.to_string())?
        );
        println!("tablet enrolment code: {}", admin::device_code(s, now).await.map_err(|e| e.to_string())?);
    }
    let limits = args.limits();
    let key_file = args
        .server_key_file
        .clone()
        .unwrap_or_else(|| hearth_server::server_key::default_path(&args.database, &args.blobs));
    let key = hearth_server::server_key::load_or_create(&key_file, storage.as_ref()).await?;
    let state = app::state_with_key(storage, key, args.blobs.clone(), state::system_clock(), limits)
        .await
        .map_err(|e| e.message)?;
    let router = app::router(state.clone());
    // The board's index is brought up to date here, not by the first read
    // after an upgrade (docs/operations.md, "How the dispatcher's board scales").
    tokio::spawn(hearth_server::office::views::keep_board_current(state.clone()));
    // Unfinished uploads expire; sweep them every ten minutes (also swept on each new upload).
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Err(e) = hearth_server::blobs::sweep_expired(&state).await {
                tracing::warn!(error = %e, "sweeping expired uploads failed");
            }
        }
    });
    let listener = std::net::TcpListener::bind(args.listen).map_err(|e| format!("{}: {e}", args.listen))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            Some(
                axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                    .await
                    .map_err(|e| format!("TLS certificate or key: {e}"))?,
            )
        }
        _ => None,
    };
    // Scripts and tests read the bound address (port 0 picks one) from this line.
    println!("hearth-server listening on {}://{local}", if tls.is_some() { "https" } else { "http" });
    match tls {
        Some(config) => {
            let mut server = axum_server::from_tcp_rustls(listener, config);
            app::configure_http(server.http_builder(), &limits);
            server
                .serve(router.into_make_service_with_connect_info::<std::net::SocketAddr>())
                .await
                .map_err(|e| e.to_string())
        }
        None => {
            let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
            app::serve(listener, router, limits).await.map_err(|e| e.to_string())
        }
    }
}
