//! A process started inside a lab namespace, and the bounded waits a test needs on it.
//!
//! Standard output arrives line by line over a channel fed by a reader thread, so a
//! test can wait for "listening on …" with a deadline instead of blocking on a pipe.
//! Standard error is collected for failure messages. Dropping a [`Proc`] kills it and
//! reaps it.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::Run;

/// How often [`Proc::wait`] looks whether the process has exited.
const POLL: Duration = Duration::from_millis(20);

/// A running process; killed and reaped when dropped.
pub struct Proc {
    label: String,
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Proc {
    /// Starts `cmd` with standard output and error piped (standard input closed).
    /// `label` names the process in failure messages.
    pub(crate) fn spawn(label: String, cmd: &mut Command) -> Proc {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{label}: cannot start {cmd:?}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr_pipe = child.stderr.take().expect("piped stderr");

        let (tx, lines) = channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut pipe = stderr_pipe;
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]);
                sink.lock().expect("stderr buffer").push_str(&text);
            }
        });
        Proc {
            label,
            child,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    /// The operating system's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The next line of standard output, or `None` if none came within `timeout`
    /// (or the process closed its output).
    pub fn next_line(&mut self, timeout: Duration) -> Option<String> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => {
                self.seen.push(line.clone());
                Some(line)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Reads standard output until a line satisfies `want` and returns it; panics,
    /// showing everything the process printed, if none does within `timeout`.
    pub fn wait_for_line(&mut self, want: impl Fn(&str) -> bool, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_line(left) {
                Some(line) if want(&line) => return line,
                Some(_) => continue,
                None => panic!(
                    "{}: no expected line within {timeout:?}\nstdout so far: {:#?}\nstderr: {}",
                    self.label,
                    self.seen,
                    self.stderr()
                ),
            }
        }
    }

    /// Everything the process wrote to standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr buffer").clone()
    }

    /// Waits up to `timeout` for the process to exit on its own.
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(POLL);
        }
    }

    /// Waits up to `timeout` for the process to exit and returns what it printed;
    /// panics (after killing it) if it is still running then.
    pub fn finish(mut self, timeout: Duration) -> Run {
        let Some(status) = self.wait(timeout) else {
            panic!(
                "{}: still running after {timeout:?}; stderr: {}",
                self.label,
                self.stderr()
            );
        };
        // The process has exited; its output ends once the reader threads drain it.
        let mut stdout = std::mem::take(&mut self.seen);
        while let Some(line) = self.next_line(Duration::from_secs(2)) {
            stdout.push(line);
        }
        Run {
            code: status.code(),
            stdout: stdout.iter().map(|l| format!("{l}\n")).collect(),
            stderr: self.stderr(),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // Already exited is fine: the child is not reaped yet, so the id is still ours.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
