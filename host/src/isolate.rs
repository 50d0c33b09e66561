//! Plugin isolation: renders run in worker processes (the `fxchain` executable re-executed in
//! its hidden worker mode), so a plugin that aborts, overflows its stack, runs out of memory,
//! writes out of bounds or calls `exit` fails one render, not the host. A dead worker is
//! replaced by a fresh one for the next render.
//!
//! Frames travel through a shared-memory file (tmpfs: `/dev/shm`, else the temporary folder),
//! one per worker, written and read in place with positioned I/O; only small JSON requests and
//! replies go through the worker's pipes. The worker reports each step it enters on its stderr
//! (a line starting with [`STEP_MARK`]), so the host can name the step and plugin that killed
//! it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fxchain_plugin_api::{PixelFormat, Size};

use crate::error::RunError;
use crate::frame::Frame;
use crate::registry::Registry;

/// The first character of a worker's stderr line naming the step it entered.
pub const STEP_MARK: char = '\u{1e}';

/// What a worker renders: the chain as text (validated again by the worker against its own
/// copy of the same plugin folders) and the options that change pixels.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Job {
    /// Name of the chain, for messages.
    pub chain_name: String,
    /// The chain's text.
    pub chain_text: String,
    /// `--set` overrides, as given.
    pub sets: Vec<String>,
    /// `--quality`, as given.
    pub quality: Option<String>,
    /// Rows per band.
    pub band_rows: Option<u32>,
    /// Fuse point steps.
    pub fuse: bool,
    /// Size for generators, replacing the chain's (`run --preview`).
    pub size: Option<(u32, u32)>,
    /// Steps (0-based) to disable: `batch --on-error bypass`.
    #[serde(default)]
    pub bypass: Vec<usize>,
    /// Reorder steps where the chain allows it (`None`: as the chain says).
    #[serde(default)]
    pub optimize: Option<bool>,
}

/// A frame's place in the shared-memory file.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Slot {
    /// Chain input name (requests) or output position (replies).
    pub name: String,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// `true` for float frames.
    pub float: bool,
    /// Whether every pixel is opaque.
    pub opaque: bool,
    /// Byte offset.
    pub offset: u64,
    /// Byte length (rows with their stride).
    pub len: u64,
}

/// One render request.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Request {
    /// What to render.
    pub job: Job,
    /// The input frames, already in the shared file.
    pub inputs: Vec<Slot>,
}

/// A worker's answer.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum Reply {
    /// The output frames, in the shared file.
    Ok(Vec<Slot>),
    /// The render failed without killing the worker (a bad chain, frames that cannot be read).
    Failed(String),
    /// A plugin returned an error or panicked; the worker lives on.
    Plugin {
        /// Step label.
        step: String,
        /// Effect id.
        effect: String,
        /// Library name and path.
        library: String,
        /// What it said.
        message: String,
        /// Whether it panicked.
        panicked: bool,
    },
}

fn format_of(float: bool) -> PixelFormat {
    if float {
        PixelFormat::RGBA32F
    } else {
        PixelFormat::RGBA8
    }
}

fn write_frame(shm: &std::fs::File, name: String, frame: &Frame, offset: u64) -> std::io::Result<Slot> {
    use std::os::unix::fs::FileExt;
    let bytes = frame.bytes();
    shm.write_all_at(bytes, offset)?;
    let s = frame.size();
    Ok(Slot {
        name,
        width: s.width,
        height: s.height,
        float: frame.format() == PixelFormat::RGBA32F,
        opaque: frame.is_opaque(),
        offset,
        len: bytes.len() as u64,
    })
}

fn read_frame(shm: &std::fs::File, slot: &Slot) -> std::io::Result<Frame> {
    use std::os::unix::fs::FileExt;
    let mut f = Frame::new_uninit(Size::new(slot.width, slot.height), format_of(slot.float));
    if f.bytes().len() as u64 != slot.len {
        return Err(std::io::Error::other("frame size mismatch between host and worker"));
    }
    shm.read_exact_at(f.bytes_mut(), slot.offset)?;
    f.set_opaque(slot.opaque);
    Ok(f)
}

/// Writes `frames` one after another from offset 0.
fn write_frames<'a>(
    shm: &std::fs::File,
    frames: impl Iterator<Item = (String, &'a Frame)>,
) -> std::io::Result<Vec<Slot>> {
    let mut offset = 0;
    let mut slots = Vec::new();
    for (name, f) in frames {
        let slot = write_frame(shm, name, f, offset)?;
        offset += slot.len;
        slots.push(slot);
    }
    Ok(slots)
}

/// How a worker renders a job on its input frames (supplied by the CLI).
pub type RenderFn<'a> = &'a dyn Fn(&Job, HashMap<String, Arc<Frame>>) -> Result<Vec<Arc<Frame>>, RunError>;

/// The worker side: answers requests from `input` on `output` until `input` ends. `render`
/// validates and renders a job (the CLI supplies it, so it renders exactly as in-process).
pub fn serve(shm_path: &Path, input: impl Read, mut output: impl Write, render: RenderFn<'_>) -> std::io::Result<()> {
    let shm = std::fs::OpenOptions::new().read(true).write(true).open(shm_path)?;
    for line in BufReader::new(input).lines() {
        let line = line?;
        let reply = match serde_json::from_str::<Request>(&line) {
            Err(e) => Reply::Failed(format!("bad request from the host: {e}")),
            Ok(req) => {
                let inputs: Result<HashMap<String, Arc<Frame>>, std::io::Error> =
                    req.inputs.iter().map(|s| Ok((s.name.clone(), Arc::new(read_frame(&shm, s)?)))).collect();
                match inputs {
                    Err(e) => Reply::Failed(format!("cannot read the input frames: {e}")),
                    Ok(inputs) => match render(&req.job, inputs) {
                        Err(RunError::Plugin { step, effect, library, message, panicked }) => {
                            Reply::Plugin { step, effect, library, message, panicked }
                        }
                        Err(e) => Reply::Failed(e.to_string()),
                        Ok(outs) => {
                            match write_frames(&shm, outs.iter().enumerate().map(|(i, f)| (i.to_string(), &**f))) {
                                Ok(slots) => Reply::Ok(slots),
                                Err(e) => Reply::Failed(format!("cannot write the output frames: {e}")),
                            }
                        }
                    },
                }
            }
        };
        let mut text = serde_json::to_string(&reply).map_err(std::io::Error::other)?;
        text.push('\n');
        output.write_all(text.as_bytes())?;
        output.flush()?;
    }
    Ok(())
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    replies: Receiver<String>,
    shm: tempfile::NamedTempFile,
    stderr: tempfile::NamedTempFile,
}

impl Worker {
    /// Ends the worker; returns how it ended and what it wrote on stderr.
    fn kill(mut self) -> (std::process::ExitStatus, String) {
        let _ = self.child.kill();
        let status = self.child.wait().unwrap_or_default();
        (status, std::fs::read_to_string(self.stderr.path()).unwrap_or_default())
    }
}

/// Where shared-memory files go: tmpfs when there is one.
fn shm_dir() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() && tempfile::tempfile_in(shm).is_ok() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// Worker processes for isolated renders: idle workers are kept for the next render, a worker
/// that died or overran its deadline is dropped and a new one started when needed.
pub struct WorkerPool {
    exe: PathBuf,
    args: Vec<std::ffi::OsString>,
    idle: Mutex<Vec<Worker>>,
    registry: Arc<Registry>,
}

impl WorkerPool {
    /// Workers run `exe args... __worker --shm FILE`; `registry` (the host's own) names the
    /// library of a step in messages.
    pub fn new(exe: PathBuf, args: Vec<std::ffi::OsString>, registry: Arc<Registry>) -> WorkerPool {
        crate::io::clean_stale_temps(&shm_dir());
        WorkerPool { exe, args, idle: Mutex::new(Vec::new()), registry }
    }

    fn spawn(&self) -> std::io::Result<Worker> {
        let dir = shm_dir();
        let shm = crate::io::temp_in(&dir)?;
        let stderr = tempfile::NamedTempFile::new()?;
        let mut child = Command::new(&self.exe)
            .args(&self.args)
            .arg("__worker")
            .arg("--shm")
            .arg(shm.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr.reopen()?)
            .spawn()?;
        let stdin = child.stdin.take().ok_or_else(|| std::io::Error::other("no worker stdin"))?;
        let stdout = child.stdout.take().ok_or_else(|| std::io::Error::other("no worker stdout"))?;
        let (tx, replies) = std::sync::mpsc::channel();
        std::thread::Builder::new().name("fxchain-worker-reader".into()).spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        })?;
        Ok(Worker { child, stdin, replies, shm, stderr })
    }

    /// Renders `job` on `inputs` in a worker; past `deadline` the worker is killed.
    pub fn render(
        &self,
        job: &Job,
        inputs: &HashMap<String, Arc<Frame>>,
        deadline: Option<Duration>,
    ) -> Result<Vec<Arc<Frame>>, RunError> {
        let failed = |message: String| RunError::Worker { message: format!("isolated render: {message}") };
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut worker = match idle {
            Some(w) => w,
            None => self.spawn().map_err(|e| failed(format!("cannot start a worker process: {e}")))?,
        };
        let shm = worker.shm.as_file();
        let slots = write_frames(shm, inputs.iter().map(|(k, f)| (k.clone(), &**f)))
            .map_err(|e| failed(format!("cannot write the input frames: {e}")))?;
        let request = Request { job: job.clone(), inputs: slots };
        let mut line = serde_json::to_string(&request).map_err(|e| failed(e.to_string()))?;
        line.push('\n');
        let sent = worker.stdin.write_all(line.as_bytes()).and_then(|_| worker.stdin.flush());
        let answer = match sent {
            Err(_) => Err(RecvTimeoutError::Disconnected),
            Ok(()) => match deadline {
                Some(d) => worker.replies.recv_timeout(d),
                None => worker.replies.recv().map_err(|_| RecvTimeoutError::Disconnected),
            },
        };
        match answer {
            Ok(text) => {
                let reply: Reply = serde_json::from_str(&text).map_err(|e| failed(format!("bad reply: {e}")))?;
                let result = match reply {
                    Reply::Failed(message) => Err(RunError::Worker { message }),
                    Reply::Plugin { step, effect, library, message, panicked } => {
                        Err(RunError::Plugin { step, effect, library, message, panicked })
                    }
                    Reply::Ok(slots) => slots
                        .iter()
                        .map(|s| read_frame(worker.shm.as_file(), s).map(Arc::new))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| failed(format!("cannot read the output frames: {e}"))),
                };
                self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(worker);
                result
            }
            Err(RecvTimeoutError::Timeout) => {
                let d = deadline.unwrap_or_default();
                let _ = worker.kill();
                Err(RunError::Deadline { seconds: d.as_secs_f64() })
            }
            Err(RecvTimeoutError::Disconnected) => {
                let (status, log) = worker.kill();
                Err(self.crash_error(&log, status))
            }
        }
    }

    fn crash_error(&self, log: &str, status: std::process::ExitStatus) -> RunError {
        let last_step = log.lines().rev().find_map(|l| l.strip_prefix(STEP_MARK)).unwrap_or("").to_string();
        let (step, effect) = match last_step.split_once(" (") {
            Some((s, e)) => (s.trim_start_matches("step ").to_string(), e.trim_end_matches(')').to_string()),
            None => ("-".to_string(), "-".to_string()),
        };
        let library = self
            .registry
            .effect(&effect)
            .map(|e| format!("{} {} ({})", e.library.name, e.library.version, e.library.path.display()))
            .unwrap_or_else(|| "unknown".into());
        // What the runtime said, without step marks and backtraces (indented frames).
        let said: Vec<&str> = log
            .lines()
            .filter(|l| !l.starts_with(STEP_MARK) && !l.starts_with(char::is_whitespace) && !l.trim().is_empty())
            .filter(|l| !l.starts_with("stack backtrace:") && !l.starts_with("note: "))
            .collect();
        let said = said[said.len().saturating_sub(3)..].join(" / ");
        RunError::Plugin {
            step,
            effect,
            library,
            message: format!(
                "the isolated plugin process ended ({}){}; it is replaced for the next image",
                describe_status(status),
                if said.is_empty() { String::new() } else { format!(": {said}") }
            ),
            panicked: false,
        }
    }
}

impl std::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WorkerPool({})", self.exe.display())
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        for w in self.idle.get_mut().unwrap_or_else(|e| e.into_inner()).drain(..) {
            let _ = w.kill();
        }
    }
}

fn describe_status(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(sig) = status.signal() {
        let name = match sig {
            6 => " (SIGABRT: abort, stack overflow or out of memory)",
            9 => " (SIGKILL)",
            11 => " (SIGSEGV: invalid memory access)",
            7 => " (SIGBUS)",
            _ => "",
        };
        format!("signal {sig}{name}")
    } else {
        match status.code() {
            Some(4) => "exit code 4: the plugin called exit".to_string(),
            Some(c) => format!("exit code {c}"),
            None => "unknown status".to_string(),
        }
    }
}
