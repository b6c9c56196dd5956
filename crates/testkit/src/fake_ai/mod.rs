//! A fake AI provider: a real HTTP server speaking OpenAI's Chat Completions wire protocol
//! ([`openai`]: JSON, or Server-Sent Events when `"stream": true`) and Anthropic's
//! Messages API ([`anthropic`]) that misbehaves on demand, so the AI layer is tested
//! against bytes on a socket rather than against mocks. Both protocols take their
//! behaviour from one queue; this module holds the queue, the answers it makes and the
//! server.
//!
//! Connections are served by hand (hyper, one task per connection in a `JoinSet`) rather
//! than with `axum::serve`, so that dropping the fake aborts every connection at once,
//! stalled ones included.

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

mod anthropic;
mod openai;

/// Added to the words of the messages, as real tokenizers add per-request overhead.
pub const PROMPT_OVERHEAD: u64 = 3;
/// Characters per streamed piece of tool-call arguments.
const TOOL_ARGS_CHUNK: usize = 8;
const DEFAULT_MODELS: [&str; 2] = ["fake-small", "fake-large"];
/// The start of a message an `Echo` answer thinks over before it answers.
pub const THINK_FIRST: &str = "Think it over: ";

#[derive(Clone, Debug)]
pub enum Behavior {
    /// Answer "Echo: <content of the last user message>" (streamed in words if stream=true).
    /// A message that starts with [`THINK_FIRST`] is thought over first, as a reasoning
    /// model would: "Pondering <the rest>" (see [`Reply::reasoning`]).
    Echo,
    /// Answer with this text.
    Reply(Reply),
    /// Answer with an HTTP error status and OpenAI-style error JSON body; `retry_after`
    /// sets the Retry-After header (seconds).
    Status { code: u16, retry_after: Option<u64> },
    /// Accept the connection and never send response headers (hang until the client
    /// gives up).
    Stall,
    /// Stream headers and `after_chunks` content chunks, then abruptly drop the connection
    /// (no [DONE], no finish_reason). Without `stream`, half the JSON body, then the drop.
    DropMidStream { text: String, after_chunks: usize },
    /// Ask the client to call a tool: one assistant message with `tool_calls`
    /// (finish_reason "tool_calls"), streamed as OpenAI does.
    ToolCall { name: String, arguments: Value },
    /// Say `text` first, then ask for the tool call in the same answer (as Claude does:
    /// "Let me look that up.", then the call).
    ToolCallAfterText {
        text: String,
        name: String,
        arguments: Value,
    },
}

impl From<Reply> for Behavior {
    fn from(reply: Reply) -> Self {
        Behavior::Reply(reply)
    }
}

#[derive(Clone, Debug)]
pub struct Reply {
    pub text: String,
    /// Characters per streamed chunk (default: split on words, one word+space per chunk).
    pub chunk_chars: Option<usize>,
    /// Delay before each streamed chunk (default 0); also delays the first chunk (time to
    /// first token). Without `stream`, the whole answer waits delay × chunks.
    pub chunk_delay: Duration,
    /// Report usage. Default true. In streams, usage comes in a final chunk with
    /// `choices: []` when the request has `stream_options.include_usage: true`.
    pub usage: bool,
    /// Stream quirks (they do not change non-streaming answers).
    pub quirks: Quirks,
    /// End as cut off by the token limit (`length`; Anthropic's `max_tokens`).
    pub length_limited: bool,
    /// Think this first, as a reasoning model does. OpenAI-compatible: streamed word by
    /// word, paced like the text, as `delta.reasoning_content` (or `delta.reasoning` with
    /// [`Quirks::reasoning_field`]); in a whole answer, `message.reasoning_content`.
    /// Anthropic: a `thinking` block (with a signature) before the answer's blocks.
    pub reasoning: String,
}

impl Reply {
    pub fn text(t: impl Into<String>) -> Self {
        Self {
            text: t.into(),
            chunk_chars: None,
            chunk_delay: Duration::ZERO,
            usage: true,
            quirks: Quirks::default(),
            length_limited: false,
            reasoning: String::new(),
        }
    }

    pub fn reasoning(mut self, thoughts: impl Into<String>) -> Self {
        self.reasoning = thoughts.into();
        self
    }

    pub fn delay(mut self, d: Duration) -> Self {
        self.chunk_delay = d;
        self
    }

    pub fn chunk_chars(mut self, n: usize) -> Self {
        self.chunk_chars = Some(n.max(1));
        self
    }

    pub fn no_usage(mut self) -> Self {
        self.usage = false;
        self
    }

    pub fn quirks(mut self, q: Quirks) -> Self {
        self.quirks = q;
        self
    }

    pub fn length_limited(mut self) -> Self {
        self.length_limited = true;
        self
    }
}

#[derive(Clone, Debug, Default)]
pub struct Quirks {
    /// Send `"usage": {}` (empty object) on every chunk, as some proxies do.
    pub empty_usage_objects: bool,
    /// Omit `id` (and `created`) from chunks.
    pub missing_ids: bool,
    /// End the stream without the `data: [DONE]` line (just close after finish_reason).
    pub no_done: bool,
    /// Send SSE comment lines (": keep-alive") between chunks, and blank `data:` keep-alives.
    pub keep_alive_comments: bool,
    /// Use "\r\n" line endings.
    pub crlf: bool,
    /// Name reasoning `reasoning` (OpenRouter, Ollama) rather than `reasoning_content`
    /// (DeepSeek, vLLM, llama.cpp).
    pub reasoning_field: bool,
}

struct Shared {
    api_key: Option<String>,
    behaviors: Mutex<VecDeque<Behavior>>,
    requests: Mutex<Vec<Value>>,
    models: Mutex<Vec<String>>,
    seq: AtomicU64,
    open_streams: AtomicUsize,
    cancelled_streams: AtomicUsize,
    /// Delay before each streamed chunk of an `Echo` answer.
    echo_delay: Mutex<Duration>,
    prompt_cache: PromptCache,
}

/// A prefix of a prompt, as a prompt cache keys it, and its tokens.
struct Prefix {
    key: String,
    tokens: u64,
}

/// Providers' prompt caches, as the fake keeps them: every prefix it has cached (no
/// expiry, no minimum length). Anthropic caches the prefixes a request marks, OpenAI
/// every prefix of whole messages.
#[derive(Default)]
struct PromptCache {
    prefixes: Mutex<HashSet<String>>,
}

impl PromptCache {
    /// The tokens of the longest of `prefixes` cached before, and whether the last one
    /// was; from now on all of them are.
    fn lookup(&self, prefixes: &[Prefix]) -> (u64, bool) {
        let mut seen = lock(&self.prefixes);
        let read = prefixes
            .iter()
            .filter(|p| seen.contains(&p.key))
            .map(|p| p.tokens)
            .max()
            .unwrap_or(0);
        let last_seen = prefixes.last().is_some_and(|p| seen.contains(&p.key));
        seen.extend(prefixes.iter().map(|p| p.key.clone()));
        (read, last_seen)
    }
}

/// A panicking test must not turn every later lock into a second panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub struct FakeAi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl FakeAi {
    /// Start on 127.0.0.1:0. Requires `Authorization: Bearer <api_key>` when `api_key` is
    /// Some (401 otherwise, OpenAI error JSON).
    pub async fn start(api_key: Option<&str>) -> FakeAi {
        Self::start_on("127.0.0.1:0", api_key).await
    }

    /// Start on a given address (the `nexus-fake-ai` binary uses a fixed port).
    pub async fn start_on(addr: &str, api_key: Option<&str>) -> FakeAi {
        let listener = TcpListener::bind(addr)
            .await
            .expect("bind the fake AI server");
        let addr = listener.local_addr().expect("fake AI server address");
        let shared = Arc::new(Shared {
            api_key: api_key.map(str::to_owned),
            behaviors: Mutex::default(),
            requests: Mutex::default(),
            models: Mutex::new(DEFAULT_MODELS.map(String::from).to_vec()),
            seq: AtomicU64::new(1),
            open_streams: AtomicUsize::new(0),
            cancelled_streams: AtomicUsize::new(0),
            echo_delay: Mutex::new(Duration::ZERO),
            prompt_cache: Default::default(),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(openai::create_chat_completion))
            .route("/v1/messages", post(anthropic::create_message))
            .route("/v1/models", get(list_models))
            .fallback(openai::unknown_route)
            .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
            .with_state(shared.clone());
        let server = tokio::spawn(serve(listener, app));
        FakeAi {
            addr,
            shared,
            server,
        }
    }

    /// Pace `Echo` answers: this delay comes before every streamed word (for browser tests
    /// that must see an answer arrive, and stop it).
    pub fn set_echo_delay(&self, d: Duration) {
        *lock(&self.shared.echo_delay) = d;
    }

    /// The OpenAI-style base URL, e.g. "http://127.0.0.1:PORT/v1".
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queue a behaviour: each valid chat request takes the next one (Echo when empty).
    pub fn push(&self, b: Behavior) {
        lock(&self.shared.behaviors).push_back(b);
    }

    pub fn push_many(&self, bs: impl IntoIterator<Item = Behavior>) {
        lock(&self.shared.behaviors).extend(bs);
    }

    /// Every chat request body received (either protocol), in order, including ones
    /// answered with errors (a body that is not JSON is kept as a JSON string).
    pub fn requests(&self) -> Vec<Value> {
        lock(&self.shared.requests).clone()
    }

    pub fn request_count(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    /// Streams started and not yet finished or dropped.
    pub fn open_streams(&self) -> usize {
        self.shared.open_streams.load(Ordering::SeqCst)
    }

    /// Streams that ended because the client went away before the end.
    pub fn cancelled_streams(&self) -> usize {
        self.shared.cancelled_streams.load(Ordering::SeqCst)
    }

    /// Replace the models GET /models lists and chat requests may name.
    pub fn set_models(&self, models: &[&str]) {
        *lock(&self.shared.models) = models.iter().map(|m| m.to_string()).collect();
    }
}

impl Drop for FakeAi {
    fn drop(&mut self) {
        // Dropping the accept loop drops its JoinSet, which aborts every connection.
        self.server.abort();
    }
}

async fn serve(listener: TcpListener, app: Router) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // Small SSE writes must leave at once, not wait for Nagle.
                    let _ = stream.set_nodelay(true);
                    let service = TowerToHyperService::new(app.clone());
                    connections.spawn(async move {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                // Most likely out of file descriptors: let some connections finish.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn list_models(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if anthropic::is_anthropic(&headers) {
        return anthropic::list_models(&shared, &headers);
    }
    if let Some(denied) = openai::unauthorized(&shared, &headers) {
        return denied;
    }
    let data: Vec<Value> = lock(&shared.models)
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "nexus-test"}))
        .collect();
    Json(json!({"object": "list", "data": data})).into_response()
}

/// The text of a message content: a string, or the text parts of a content-part array.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn count_words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// Parse a request body as JSON and record it (as a JSON string if it is not JSON).
fn record(shared: &Shared, body: &Bytes) -> Option<Value> {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    let recorded = parsed
        .clone()
        .unwrap_or_else(|| Value::String(String::from_utf8_lossy(body).into()));
    lock(&shared.requests).push(recorded);
    parsed
}

/// What the next valid request gets, from the queue: an answer, or an error status.
/// A `Stall` never returns.
enum Next {
    Answer { seq: u64, answer: Answer },
    Status { code: u16, retry_after: Option<u64> },
}

async fn next_answer(shared: &Shared, last_user: &str) -> Next {
    let behavior = lock(&shared.behaviors)
        .pop_front()
        .unwrap_or(Behavior::Echo);
    let seq = shared.seq.fetch_add(1, Ordering::Relaxed);
    let answer = match behavior {
        Behavior::Status { code, retry_after } => return Next::Status { code, retry_after },
        Behavior::Stall => return std::future::pending().await,
        Behavior::Echo => {
            let reply = Reply::text(format!("Echo: {last_user}"));
            let reply = match last_user.strip_prefix(THINK_FIRST) {
                Some(topic) => reply.reasoning(format!("Pondering {topic}")),
                None => reply,
            };
            Answer::reply(reply.delay(*lock(&shared.echo_delay)))
        }
        Behavior::Reply(reply) => Answer::reply(reply),
        Behavior::DropMidStream { text, after_chunks } => Answer {
            abort_after: Some(after_chunks),
            ..Answer::reply(Reply::text(text))
        },
        Behavior::ToolCall { name, arguments } => {
            Answer::tool(seq, String::new(), name, &arguments)
        }
        Behavior::ToolCallAfterText {
            text,
            name,
            arguments,
        } => Answer::tool(seq, text, name, &arguments),
    };
    Next::Answer { seq, answer }
}

enum Payload {
    Text(String),
    Tool {
        /// Text said before the call, streamed whole in one chunk (empty: none).
        preface: String,
        id: String,
        name: String,
        arguments: String,
    },
}

struct Answer {
    payload: Payload,
    chunk_chars: Option<usize>,
    delay: Duration,
    usage: bool,
    quirks: Quirks,
    abort_after: Option<usize>,
    length_limited: bool,
    reasoning: String,
}

impl Answer {
    fn reply(r: Reply) -> Self {
        Self {
            payload: Payload::Text(r.text),
            chunk_chars: r.chunk_chars,
            delay: r.chunk_delay,
            usage: r.usage,
            quirks: r.quirks,
            abort_after: None,
            length_limited: r.length_limited,
            reasoning: r.reasoning,
        }
    }

    fn tool(seq: u64, preface: String, name: String, arguments: &Value) -> Self {
        Self {
            payload: Payload::Tool {
                preface,
                id: format!("call_fake{seq:08}"),
                name,
                arguments: arguments.to_string(),
            },
            ..Answer::reply(Reply::text(""))
        }
    }

    /// The text said before a tool call.
    fn preface(&self) -> &str {
        match &self.payload {
            Payload::Tool { preface, .. } => preface,
            Payload::Text(_) => "",
        }
    }

    /// The text that is split into streamed pieces.
    fn streamed(&self) -> &str {
        match &self.payload {
            Payload::Text(t) => t,
            Payload::Tool { arguments, .. } => arguments,
        }
    }

    fn piece_chars(&self) -> Option<usize> {
        match self.payload {
            Payload::Text(_) => self.chunk_chars,
            Payload::Tool { .. } => Some(TOOL_ARGS_CHUNK),
        }
    }

    fn completion_tokens(&self) -> u64 {
        match &self.payload {
            Payload::Text(t) => count_words(t) + count_words(&self.reasoning),
            Payload::Tool {
                preface,
                name,
                arguments,
                ..
            } => count_words(preface) + count_words(name) + count_words(arguments),
        }
    }

    fn finish_reason(&self) -> &'static str {
        match self.payload {
            _ if self.length_limited => "length",
            Payload::Text(_) => "stop",
            Payload::Tool { .. } => "tool_calls",
        }
    }
}

/// How far a stream has got through its answer's pieces.
#[derive(Default)]
struct Progress {
    /// Byte offset in the streamed text, and pieces sent so far.
    pos: usize,
    sent: usize,
}

/// What a stream sends next from its answer's pieces.
enum Piece<'a> {
    Next(&'a str),
    /// Every piece is sent.
    Done,
    /// A `DropMidStream` answer has sent its pieces: the server hangs up now.
    HangUp,
}

impl Answer {
    /// Waits before every piece but the first, as the answer is paced.
    async fn pause(&self) {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
    }

    async fn next_streamed_piece(&self, progress: &mut Progress) -> Piece<'_> {
        let rest = &self.streamed()[progress.pos..];
        if (self.abort_after).is_some_and(|n| n <= progress.sent || rest.is_empty()) {
            hang_up().await;
            return Piece::HangUp;
        }
        if rest.is_empty() {
            return Piece::Done;
        }
        if progress.sent > 0 {
            self.pause().await;
        }
        let len = next_piece(rest, self.piece_chars());
        progress.pos += len;
        progress.sent += 1;
        Piece::Next(&rest[..len])
    }
}

/// Byte length of the next streamed piece of `rest`: `chars` characters, or one word with
/// the whitespace around it.
fn next_piece(rest: &str, chars: Option<usize>) -> usize {
    if let Some(n) = chars {
        return rest.char_indices().nth(n).map_or(rest.len(), |(i, _)| i);
    }
    let word = rest.len() - rest.trim_start().len();
    let word_end = rest[word..]
        .find(char::is_whitespace)
        .map_or(rest.len(), |i| word + i);
    let tail = &rest[word_end..];
    word_end + (tail.len() - tail.trim_start().len())
}

/// Counts a stream as open while it lives; dropped before `finished`, the client went away.
struct StreamGuard {
    shared: Arc<Shared>,
    finished: bool,
}

impl StreamGuard {
    fn open(shared: Arc<Shared>) -> Self {
        shared.open_streams.fetch_add(1, Ordering::SeqCst);
        Self {
            shared,
            finished: false,
        }
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.shared.cancelled_streams.fetch_add(1, Ordering::SeqCst);
        }
        self.shared.open_streams.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A streamed answer's response: these events as Server-Sent Events.
fn sse_response(
    events: impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
) -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/event-stream"),
        (header::CACHE_CONTROL, "no-cache"),
    ];
    (headers, Body::from_stream(events)).into_response()
}

/// A whole answer that breaks off: half of its JSON, then the connection drops.
fn half_then_hang_up(body: &Value) -> Response {
    let full = Bytes::from(body.to_string());
    let half = full.slice(..full.len() / 2);
    let parts = futures::stream::once(async { Ok(half) }).chain(futures::stream::once(async {
        hang_up().await;
        Err(std::io::Error::other("fake AI dropped the connection"))
    }));
    let headers = [(header::CONTENT_TYPE, "application/json")];
    (headers, Body::from_stream(parts)).into_response()
}

/// Before a body fails on purpose: hyper flushes what it holds when the body is pending,
/// so the client gets the bytes before the drop instead of nothing at all.
async fn hang_up() {
    tokio::task::yield_now().await;
}

fn push_json_str(buf: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(buf, s).expect("a string always serialises into a Vec");
}

#[cfg(test)]
mod tests;
