//! A fault-injecting TCP proxy for sync tests.
//!
//! It sits between an HTTP client and the real server on loopback and breaks
//! requests on purpose (dropped connections, lost responses, cut uploads,
//! resets, delays, whole-network outages), so tests can prove that sync loses
//! nothing and duplicates nothing whatever the network does.
//!
//! Faults are decided per *request*, not per connection: HTTP clients keep
//! connections alive, so a per-connection fault would hit only the first
//! request of a pool. The proxy does not parse HTTP; it treats the first
//! client bytes on a connection, and the first client bytes after the server
//! has sent anything back, as the start of a new request. Everything the
//! client sends until the server answers (a 2 MiB body arriving in many
//! reads, say) belongs to that one request.
//!
//! Choices come from a ChaCha8 stream seeded by [`FaultPlan::seed`], drawn
//! once per request, so a sequential test replays the same faults.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Read buffer per direction and connection.
const BUF_SIZE: usize = 16 * 1024;

/// One kind of network fault, applied to a single request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Close the client connection before forwarding anything of the request:
    /// the server never hears of it.
    DropConnection,
    /// Forward the whole request, wait until the server starts answering (it
    /// has committed by then), then close the client connection without
    /// forwarding the response: the client cannot know it succeeded.
    DropResponse,
    /// Hold the request back this long, then proceed normally. The request
    /// still succeeds.
    Delay(Duration),
    /// Forward only the first `after_bytes` bytes of the request (headers
    /// included), then close both sides. Should the whole request be shorter,
    /// it reaches the server in full and the response is dropped instead, so
    /// a request given this fault never succeeds.
    CutUpload {
        /// How many request bytes reach the server.
        after_bytes: usize,
    },
    /// Send a TCP RST to the client at a random point of the request or the
    /// response (the server may or may not have seen the request).
    Reset,
}

/// Which faults to inject, how often, and the seed that makes it replayable.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    /// Probability, in `0.0..=1.0`, that a request gets a fault.
    pub fault_rate: f64,
    /// Seed of the fault choices.
    pub seed: u64,
    /// The kinds to pick from, uniformly; empty means no faults.
    pub faults: Vec<Fault>,
}

impl FaultPlan {
    /// A clean network: every request is forwarded untouched.
    pub fn none() -> Self {
        Self { fault_rate: 0.0, seed: 0, faults: Vec::new() }
    }

    /// Every request gets `fault`.
    pub fn always(fault: Fault) -> Self {
        Self { fault_rate: 1.0, seed: 0, faults: vec![fault] }
    }
}

impl Default for FaultPlan {
    fn default() -> Self {
        Self::none()
    }
}

/// How many faults of each kind were injected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    pub drop_connection: u64,
    pub drop_response: u64,
    pub delay: u64,
    pub cut_upload: u64,
    pub reset: u64,
}

impl FaultCounts {
    /// All faults injected, delays included.
    pub fn total(&self) -> u64 {
        self.disruptive() + self.delay
    }

    /// Faults that make the request fail at the client (all but delays).
    pub fn disruptive(&self) -> u64 {
        self.drop_connection + self.drop_response + self.cut_upload + self.reset
    }
}

/// A point-in-time copy of the proxy's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStatsSnapshot {
    /// TCP connections accepted, including those refused while offline.
    pub connections: u64,
    /// Connections refused because the proxy was offline.
    pub refused_offline: u64,
    /// Requests seen (see the module docs for what counts as one).
    pub requests: u64,
    /// Faults injected, per kind.
    pub faults: FaultCounts,
    /// Bytes forwarded from clients to the server.
    pub bytes_client_to_server: u64,
    /// Bytes forwarded from the server to clients.
    pub bytes_server_to_client: u64,
}

#[derive(Debug, Default)]
struct Stats {
    connections: AtomicU64,
    refused_offline: AtomicU64,
    requests: AtomicU64,
    drop_connection: AtomicU64,
    drop_response: AtomicU64,
    delay: AtomicU64,
    cut_upload: AtomicU64,
    reset: AtomicU64,
    bytes_client_to_server: AtomicU64,
    bytes_server_to_client: AtomicU64,
}

impl Stats {
    fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }

    fn count_fault(&self, fault: Fault) {
        let counter = match fault {
            Fault::DropConnection => &self.drop_connection,
            Fault::DropResponse => &self.drop_response,
            Fault::Delay(_) => &self.delay,
            Fault::CutUpload { .. } => &self.cut_upload,
            Fault::Reset => &self.reset,
        };
        Self::bump(counter, 1);
    }

    fn snapshot(&self) -> ProxyStatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ProxyStatsSnapshot {
            connections: get(&self.connections),
            refused_offline: get(&self.refused_offline),
            requests: get(&self.requests),
            faults: FaultCounts {
                drop_connection: get(&self.drop_connection),
                drop_response: get(&self.drop_response),
                delay: get(&self.delay),
                cut_upload: get(&self.cut_upload),
                reset: get(&self.reset),
            },
            bytes_client_to_server: get(&self.bytes_client_to_server),
            bytes_server_to_client: get(&self.bytes_server_to_client),
        }
    }
}

#[derive(Debug)]
struct PlanState {
    plan: FaultPlan,
    rng: ChaCha8Rng,
}

impl PlanState {
    fn new(plan: FaultPlan) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(plan.seed);
        Self { plan, rng }
    }
}

/// State shared by the proxy handle, the accept loop and the connections.
#[derive(Debug)]
struct Shared {
    plan: Mutex<PlanState>,
    upstream: Mutex<SocketAddr>,
    offline: AtomicBool,
    stats: Stats,
}

impl Shared {
    fn upstream(&self) -> SocketAddr {
        *self.upstream.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Rolls the dice for a new request: the fault, if any, and a random word
    /// for where a reset strikes. Always draws three words, whatever the
    /// outcome, so the sequence depends only on the seed and request order.
    fn decide(&self) -> Option<(Fault, u64)> {
        let mut state = self.plan.lock().unwrap_or_else(PoisonError::into_inner);
        let roll = state.rng.next_u64();
        let pick = state.rng.next_u64();
        let aux = state.rng.next_u64();
        let plan = &state.plan;
        // 53 random bits give a uniform f64 in [0, 1).
        let unit = (roll >> 11) as f64 / (1u64 << 53) as f64;
        let hit = unit < plan.fault_rate;
        if plan.faults.is_empty() || !hit {
            return None;
        }
        let fault = plan.faults[(pick % plan.faults.len() as u64) as usize];
        Some((fault, aux))
    }
}

/// A fault-injecting TCP proxy listening on `127.0.0.1`. Dropping it stops
/// accepting and closes every connection it carries.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// Every connection watches this; a change, or the sender being dropped
    /// with the proxy, cuts it.
    cut: watch::Sender<()>,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts the proxy on the current tokio runtime, on an ephemeral port,
    /// forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr, plan: FaultPlan) -> io::Result<FaultProxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            plan: Mutex::new(PlanState::new(plan)),
            upstream: Mutex::new(upstream),
            offline: AtomicBool::new(false),
            stats: Stats::default(),
        });
        let (cut, cut_rx) = watch::channel(());
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared), cut_rx));
        Ok(FaultProxy { addr, shared, cut, accept })
    }

    /// The address clients should connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL clients should use, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the plan and restarts its random stream from the new seed.
    /// Requests already under way keep the fault they were given.
    pub fn set_plan(&self, plan: FaultPlan) {
        *self.shared.plan.lock().unwrap_or_else(PoisonError::into_inner) = PlanState::new(plan);
    }

    /// Connectivity lost (`true`): every live connection is cut and new ones
    /// are reset as soon as they are accepted. `false` restores the network.
    pub fn set_offline(&self, offline: bool) {
        // Set the flag before cutting: a connection accepted concurrently
        // either sees the flag or sees the cut (see `accept_loop`).
        self.shared.offline.store(offline, Ordering::SeqCst);
        if offline {
            self.cut_connections();
        }
    }

    /// Resets every live connection (a network blip) without going offline.
    pub fn cut_connections(&self) {
        self.cut.send_modify(|_| {});
    }

    /// Points the proxy at another server (one that restarted on a new port,
    /// say). New connections, and the next request on a kept-alive one, go
    /// there; a request already under way finishes where it started.
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self.shared.upstream.lock().unwrap_or_else(PoisonError::into_inner) = upstream;
    }

    /// The counters so far.
    pub fn stats(&self) -> ProxyStatsSnapshot {
        self.shared.stats.snapshot()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Dropping `cut` right after this closes the live connections.
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, cut: watch::Receiver<()>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors or the like: back off, don't spin.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        Stats::bump(&shared.stats.connections, 1);
        // Subscribe before checking the flag, so a concurrent `set_offline`
        // is caught by one or the other.
        let mut conn_cut = cut.clone();
        conn_cut.mark_unchanged();
        if shared.offline.load(Ordering::SeqCst) {
            Stats::bump(&shared.stats.refused_offline, 1);
            let _ = stream.set_zero_linger();
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve(Arc::clone(&shared), stream, conn_cut));
    }
}

/// How a connection pair ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Orderly close (FIN) of both sides.
    Close,
    /// RST to the client.
    Reset,
}

#[derive(Debug)]
enum Step {
    Continue,
    End(End),
}

#[derive(Debug)]
enum Event {
    Client(usize),
    ClientEof,
    ClientError,
    Upstream(usize),
    UpstreamClosed,
}

/// The fault still to be applied to the request under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    None,
    DropResponse,
    CutUpload(usize),
    /// Reset after forwarding `word % len` bytes of the first request chunk.
    ResetInRequest(u64),
    /// Reset after forwarding `word % len` bytes of the first response chunk.
    ResetInResponse(u64),
}

#[derive(Debug)]
struct Conn {
    shared: Arc<Shared>,
    client: TcpStream,
    /// Connected lazily at the first request, with the address it went to.
    upstream: Option<(TcpStream, SocketAddr)>,
    client_open: bool,
    /// The next client bytes start a new request.
    awaiting_request: bool,
    pending: Pending,
    /// Bytes of the current request read from the client so far.
    request_bytes: usize,
}

async fn serve(shared: Arc<Shared>, client: TcpStream, mut cut: watch::Receiver<()>) {
    let mut conn = Conn {
        shared,
        client,
        upstream: None,
        client_open: true,
        awaiting_request: true,
        pending: Pending::None,
        request_bytes: 0,
    };
    if conn.run(&mut cut).await == End::Reset {
        let _ = conn.client.set_zero_linger();
    }
    // Dropping `conn` closes both sockets.
}

impl Conn {
    async fn run(&mut self, cut: &mut watch::Receiver<()>) -> End {
        let mut cbuf = vec![0u8; BUF_SIZE];
        let mut ubuf = vec![0u8; BUF_SIZE];
        loop {
            let client = if self.client_open { Some(&mut self.client) } else { None };
            let upstream = self.upstream.as_mut().map(|(stream, _)| stream);
            let event = tokio::select! {
                biased;
                _ = cut.changed() => return End::Reset,
                event = next_event(client, upstream, &mut cbuf, &mut ubuf) => event,
            };
            // Handling may sleep (delay) or block on a slow peer: stay cuttable.
            let step = tokio::select! {
                biased;
                _ = cut.changed() => return End::Reset,
                step = self.handle(event, &cbuf, &ubuf) => step,
            };
            if let Step::End(end) = step {
                return end;
            }
        }
    }

    async fn handle(&mut self, event: Event, cbuf: &[u8], ubuf: &[u8]) -> Step {
        match event {
            Event::Client(n) => self.on_client(&cbuf[..n]).await,
            Event::ClientEof => {
                // Pass the half-close on and let the response finish.
                self.client_open = false;
                match self.upstream.as_mut() {
                    Some((upstream, _)) => match upstream.shutdown().await {
                        Ok(()) => Step::Continue,
                        Err(_) => Step::End(End::Close),
                    },
                    None => Step::End(End::Close),
                }
            }
            Event::ClientError | Event::UpstreamClosed => Step::End(End::Close),
            Event::Upstream(n) => self.on_upstream(&ubuf[..n]).await,
        }
    }

    async fn on_client(&mut self, chunk: &[u8]) -> Step {
        if self.awaiting_request
            && let Some(end) = self.begin_request().await
        {
            return Step::End(end);
        }
        let (forward, then) = match self.pending {
            Pending::CutUpload(after) => {
                let room = after.saturating_sub(self.request_bytes);
                if chunk.len() >= room { (&chunk[..room], Some(End::Close)) } else { (chunk, None) }
            }
            Pending::ResetInRequest(word) => {
                let at = (word % chunk.len() as u64) as usize;
                (&chunk[..at], Some(End::Reset))
            }
            _ => (chunk, None),
        };
        self.request_bytes += chunk.len();
        let Some((upstream, _)) = self.upstream.as_mut() else {
            return Step::End(End::Close);
        };
        if !forward.is_empty() {
            if upstream.write_all(forward).await.is_err() {
                return Step::End(End::Close);
            }
            Stats::bump(&self.shared.stats.bytes_client_to_server, forward.len() as u64);
        }
        match then {
            Some(end) => Step::End(end),
            None => Step::Continue,
        }
    }

    /// Counts a new request, rolls its fault, applies the immediate ones and
    /// makes sure the upstream connection goes to the current server.
    /// Returns how the connection ends if it must end now.
    async fn begin_request(&mut self) -> Option<End> {
        self.awaiting_request = false;
        self.request_bytes = 0;
        self.pending = Pending::None;
        Stats::bump(&self.shared.stats.requests, 1);
        if let Some((fault, word)) = self.shared.decide() {
            self.shared.stats.count_fault(fault);
            match fault {
                Fault::DropConnection => return Some(End::Close),
                Fault::Delay(delay) => tokio::time::sleep(delay).await,
                Fault::DropResponse => self.pending = Pending::DropResponse,
                Fault::CutUpload { after_bytes } => self.pending = Pending::CutUpload(after_bytes),
                Fault::Reset => {
                    // One bit picks the phase, the rest the byte offset.
                    self.pending = if word & 1 == 0 {
                        Pending::ResetInRequest(word >> 1)
                    } else {
                        Pending::ResetInResponse(word >> 1)
                    };
                }
            }
        }
        // Between requests nothing is in flight, so switching to a moved
        // server here is invisible to the client.
        let target = self.shared.upstream();
        if self.upstream.as_ref().is_none_or(|(_, addr)| *addr != target) {
            self.upstream = None;
            let Ok(stream) = TcpStream::connect(target).await else {
                return Some(End::Close);
            };
            let _ = stream.set_nodelay(true);
            self.upstream = Some((stream, target));
        }
        None
    }

    async fn on_upstream(&mut self, chunk: &[u8]) -> Step {
        // The server has answered: the next client bytes are a new request.
        self.awaiting_request = true;
        let (forward, then) = match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::DropResponse | Pending::CutUpload(_) => (&chunk[..0], Some(End::Close)),
            Pending::ResetInResponse(word) => {
                let at = (word % chunk.len() as u64) as usize;
                (&chunk[..at], Some(End::Reset))
            }
            Pending::None | Pending::ResetInRequest(_) => (chunk, None),
        };
        if !forward.is_empty() {
            if self.client.write_all(forward).await.is_err() {
                return Step::End(End::Close);
            }
            Stats::bump(&self.shared.stats.bytes_server_to_client, forward.len() as u64);
        }
        match then {
            Some(end) => Step::End(end),
            None => Step::Continue,
        }
    }
}

/// Waits for bytes from either side; a side that is `None` is not read.
async fn next_event(
    client: Option<&mut TcpStream>,
    upstream: Option<&mut TcpStream>,
    cbuf: &mut [u8],
    ubuf: &mut [u8],
) -> Event {
    let from_client = async {
        match client {
            Some(client) => client.read(cbuf).await,
            None => std::future::pending().await,
        }
    };
    let from_upstream = async {
        match upstream {
            Some(upstream) => upstream.read(ubuf).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        // Response bytes first: they decide where the next request starts.
        biased;
        read = from_upstream => match read {
            Ok(0) | Err(_) => Event::UpstreamClosed,
            Ok(n) => Event::Upstream(n),
        },
        read = from_client => match read {
            Ok(0) => Event::ClientEof,
            Ok(n) => Event::Client(n),
            Err(_) => Event::ClientError,
        },
    }
}
