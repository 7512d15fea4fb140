//! The command line: `serve`, `admin …`, `import FILE`, `demo`. Typed configuration with
//! defaults, overridable by flags or environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::storage::Storage;
use crate::storage::postgres::PostgresStorage;
use crate::storage::sqlite::SqliteStorage;

pub const DEFAULT_DATABASE: &str = "sqlite://hearth-server.db";

#[derive(Debug, Parser)]
#[command(
    name = "hearth-server",
    version,
    about = "Hearth central server: receives, verifies and stores signed records"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API.
    Serve(ServeArgs),
    /// Operator commands; each prints its result as the last line.
    Admin {
        #[arg(long, env = "HEARTH_DATABASE", default_value = DEFAULT_DATABASE)]
        database: String,
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Ingest a rescue file exported by a tablet that could not reach the
    /// server, exactly as its pushes would be; the last line printed sums it up.
    Import(ImportArgs),
    /// Fill a database with a believable day of work.
    Demo {
        #[arg(long, env = "HEARTH_DATABASE", default_value = DEFAULT_DATABASE)]
        database: String,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[arg(long, env = "HEARTH_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// `sqlite://PATH` (embedded, the default) or `postgres://…`.
    #[arg(long, env = "HEARTH_DATABASE", default_value = DEFAULT_DATABASE)]
    pub database: String,
    #[arg(long, env = "HEARTH_BLOBS", default_value = "hearth-blobs")]
    pub blobs: PathBuf,
    /// The receipt-signing key (created 0600 if absent); default
    /// `<database>.key` for SQLite, `<blobs>.key` for PostgreSQL.
    #[arg(long, env = "HEARTH_SERVER_KEY_FILE")]
    pub server_key_file: Option<PathBuf>,
    #[arg(long, env = "HEARTH_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    #[arg(long, env = "HEARTH_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Fill the database with the demo day first, and print an operator
    /// token and a tablet enrolment code to try it with.
    #[arg(long)]
    pub demo: bool,
    /// Requests per second each tablet may make (token bucket refill).
    #[arg(long, env = "HEARTH_DEVICE_RATE", default_value_t = crate::state::Limits::default().device_rate_per_sec)]
    pub device_rate: u32,
    /// Requests a tablet may make in a burst.
    #[arg(long, env = "HEARTH_DEVICE_BURST", default_value_t = crate::state::Limits::default().device_burst)]
    pub device_burst: u32,
    /// A connection must send a whole request header within this many ms.
    #[arg(long, env = "HEARTH_HEADER_TIMEOUT_MS", default_value_t = crate::state::Limits::default().header_timeout_ms)]
    pub header_timeout_ms: u64,
    /// A request body that sends nothing for this many ms is cut off (408).
    #[arg(long, env = "HEARTH_BODY_TIMEOUT_MS", default_value_t = crate::state::Limits::default().body_timeout_ms)]
    pub body_timeout_ms: u64,
    /// A request (body and handling) longer than this many ms is answered 408.
    #[arg(long, env = "HEARTH_REQUEST_TIMEOUT_MS", default_value_t = crate::state::Limits::default().request_timeout_ms)]
    pub request_timeout_ms: u64,
    /// Requests handled at once; more wait briefly, then get 503 `overloaded`.
    #[arg(long, env = "HEARTH_MAX_CONCURRENT", default_value_t = crate::state::Limits::default().max_concurrent)]
    pub max_concurrent: usize,
    /// Enrolment attempts and failed tokens per client address per minute (refill) …
    #[arg(long, env = "HEARTH_ADDRESS_RATE", default_value_t = crate::state::Limits::default().address_rate_per_min)]
    pub address_rate_per_min: u32,
    /// … and in a burst.
    #[arg(long, env = "HEARTH_ADDRESS_BURST", default_value_t = crate::state::Limits::default().address_burst)]
    pub address_burst: u32,
    /// Bytes of unfinished uploads one tablet may hold at once.
    #[arg(long, env = "HEARTH_UPLOAD_QUOTA", default_value_t = crate::state::Limits::default().device_upload_quota)]
    pub upload_quota: u64,
}

impl ServeArgs {
    /// The limits these flags ask for, the rest at their defaults.
    pub fn limits(&self) -> crate::state::Limits {
        crate::state::Limits {
            device_rate_per_sec: self.device_rate.max(1),
            device_burst: self.device_burst.max(1),
            header_timeout_ms: self.header_timeout_ms.max(1),
            body_timeout_ms: self.body_timeout_ms.max(1),
            request_timeout_ms: self.request_timeout_ms.max(1),
            max_concurrent: self.max_concurrent.max(1),
            address_rate_per_min: self.address_rate_per_min.max(1),
            address_burst: self.address_burst.max(1),
            device_upload_quota: self.upload_quota,
            ..crate::state::Limits::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The rescue file (`hearth-rescue/v1`, JSON Lines) the tablet exported.
    pub file: PathBuf,
    /// `sqlite://PATH` or `postgres://…`: the database `serve` uses.
    #[arg(long, env = "HEARTH_DATABASE", default_value = DEFAULT_DATABASE)]
    pub database: String,
    /// The blob directory `serve` uses.
    #[arg(long, env = "HEARTH_BLOBS", default_value = "hearth-blobs")]
    pub blobs: PathBuf,
    /// The key file `serve` uses (the same default).
    #[arg(long, env = "HEARTH_SERVER_KEY_FILE")]
    pub server_key_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// A new operator token for the office API (scripts; counts as admin).
    OperatorToken,
    /// An operator account for the office; the password is read from
    /// standard input (one line), never from the command line.
    OperatorAdd {
        #[arg(long)]
        username: String,
        /// The display name.
        #[arg(long)]
        name: String,
        /// dispatcher, customer_service, reviewer, manager or admin; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Read the password from standard input (the only way; accepted for scripts' clarity).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an operator account and end its sessions.
    OperatorDisable {
        #[arg(long)]
        username: String,
    },
    /// A one-time enrolment code for a tablet.
    DeviceCode,
    /// Technicians.
    Technician {
        #[command(subcommand)]
        command: TechnicianCommand,
    },
    /// A one-time code to enrol a technician on a tablet.
    TechnicianCode {
        #[arg(long)]
        id: String,
    },
    /// Thermometers.
    Thermometer {
        #[command(subcommand)]
        command: ThermometerCommand,
    },
    /// Revoke a tablet's key (entries arriving later are flagged, never dropped).
    RevokeDevice {
        #[arg(long)]
        device_id: String,
    },
    /// Revoke a technician's key on one tablet.
    RevokeTechnician {
        #[arg(long)]
        kid: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TechnicianCommand {
    Add {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        phone: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ThermometerCommand {
    Add {
        #[arg(long)]
        serial: String,
        #[arg(long)]
        certificate: String,
        #[arg(long)]
        valid_until: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the database URL must start with sqlite:// or postgres://")]
    UnknownScheme,
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

/// Opens the storage a URL names.
pub async fn open_storage(url: &str) -> Result<Arc<dyn Storage>, OpenError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(SqliteStorage::open(std::path::Path::new(path))?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStorage::connect(url).await?))
    } else {
        Err(OpenError::UnknownScheme)
    }
}

/// `admin operator-add`: reads the password (one line) from standard input.
pub async fn operator_add(
    storage: &dyn Storage,
    username: &str,
    name: &str,
    roles: &[String],
    now_ms: i64,
) -> crate::admin::AdminResult {
    use crate::admin::AdminError;
    let roles = roles
        .iter()
        .map(|r| {
            crate::office::access::Role::parse(r).ok_or_else(|| {
                AdminError::Invalid(format!(
                    "unknown role {r:?}: dispatcher, customer_service, reviewer, manager or admin"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprint!("password for {username}: ");
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| AdminError::Invalid(format!("reading the password from standard input: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']);
    crate::office::accounts::add_account(storage, username, name, &roles, password, now_ms).await?;
    Ok(format!("added operator {username}"))
}

/// `admin operator-disable`.
pub async fn operator_disable(storage: &dyn Storage, username: &str) -> crate::admin::AdminResult {
    if storage.set_operator_disabled(username, true).await? {
        Ok(format!("disabled operator {username}"))
    } else {
        Err(crate::admin::AdminError::NotFound(format!("operator {username}")))
    }
}
