//! nginx's mail proxy (Debian's `nginx-light` and `libnginx-mod-mail`, installed by
//! `ci/install-peers --nginx`) in front of one IMAP backend, for the side-by-side benchmarks.
//!
//! [`NginxMailProxy`] writes its own `nginx.conf` into a temp directory (one worker, IMAP on a
//! free port of 127.0.0.1, optionally an implicit-TLS port too), starts `nginx` in the
//! foreground (`daemon off`), waits for its greeting and stops it by its own pid on drop: SIGTERM
//! to the master, which stops its worker, then SIGKILL to whatever is left. nginx asks an HTTP
//! endpoint where each login goes (`auth_http`); [`AuthHttp`] is that endpoint, a thread that
//! accepts every login and sends it to the one backend.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{free_port, imap_greets, log_tail, procfs, wait_until};

/// nginx's binary.
pub const NGINX: &str = "/usr/sbin/nginx";
/// The dynamic module that holds nginx's mail proxy.
pub const MAIL_MODULE: &str = "/usr/lib/nginx/modules/ngx_mail_module.so";
/// The longest `auth_http` request read (nginx sends a few hundred bytes).
const MAX_AUTH_REQUEST: usize = 16 * 1024;

/// Panics with a clear message unless nginx and its mail module are installed.
pub fn require_nginx() {
    for file in [NGINX, MAIL_MODULE] {
        assert!(
            Path::new(file).exists(),
            "{file} is missing: install the nginx peer with ci/install-peers --nginx"
        );
    }
}

/// nginx's `auth_http` endpoint: answers every login with `Auth-Status: OK` and the backend's
/// address. Stops (and joins its thread) on drop.
#[derive(Debug)]
pub struct AuthHttp {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl AuthHttp {
    /// Starts one on a free port of 127.0.0.1 that sends every login to `backend`.
    pub fn start(backend: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the auth_http endpoint");
        let addr = listener.local_addr().expect("auth_http address");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let reply = format!(
            "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: {}\r\nAuth-Port: {}\r\n\r\n",
            backend.ip(),
            backend.port()
        );
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(stream) = stream {
                    answer(stream, reply.as_bytes());
                }
            }
        });
        AuthHttp {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Reads one request head (bounded in size and time) and sends `reply`; errors end the
/// exchange, nginx then refuses that login.
fn answer(mut stream: TcpStream, reply: &[u8]) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut request = Vec::new();
    let mut chunk = [0u8; 2048];
    while !request.ends_with(b"\r\n\r\n") && request.len() < MAX_AUTH_REQUEST {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&chunk[..n]),
        }
    }
    let _ = stream.write_all(reply);
}

impl Drop for AuthHttp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Where an [`NginxMailProxy`] terminates TLS: certificate chain and key, PEM files.
#[derive(Debug, Clone, Copy)]
pub struct NginxTls<'a> {
    /// The certificate chain.
    pub cert: &'a Path,
    /// Its private key.
    pub key: &'a Path,
}

/// An nginx mail proxy (master and one worker) on 127.0.0.1.
#[derive(Debug)]
pub struct NginxMailProxy {
    dir: tempfile::TempDir,
    master: Option<Child>,
    port: u16,
    tls_port: Option<u16>,
    _auth: AuthHttp,
}

impl NginxMailProxy {
    /// Starts one in front of `backend`, with an implicit-TLS listener too if `tls` is given,
    /// its worker pinned to `cpu`, the whole of it run under `wrapper` (`taskset -c 0`, or
    /// nothing). Panics, with its log, if it does not greet.
    pub fn start(
        backend: SocketAddr,
        tls: Option<NginxTls<'_>>,
        cpu: usize,
        wrapper: &[String],
    ) -> Self {
        require_nginx();
        let dir = tempfile::Builder::new()
            .prefix("corvid-nginx-")
            .tempdir()
            .expect("create nginx's directory");
        let auth = AuthHttp::start(backend);
        let port = free_port();
        let tls_port = tls.map(|_| free_port());
        let d = dir.path().display();
        let tls_server = match (tls, tls_port) {
            (Some(tls), Some(tls_port)) => format!(
                "    server {{\n        listen 127.0.0.1:{tls_port} ssl;\n        protocol imap;\n        \
                 ssl_certificate {};\n        ssl_certificate_key {};\n    }}\n",
                tls.cert.display(),
                tls.key.display()
            ),
            _ => String::new(),
        };
        // worker_cpu_affinity takes a bit mask, written as binary digits, CPU 0 rightmost.
        let mask = format!("1{}", "0".repeat(cpu));
        let config = format!(
            r#"# corvid bench peer (tests/support/nginx.rs)
load_module {MAIL_MODULE};
daemon off;
master_process on;
user nobody nogroup;
worker_processes 1;
worker_cpu_affinity {mask};
worker_rlimit_nofile 20000;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{
    worker_connections 16384;
}}
mail {{
    server_name localhost;
    auth_http {auth};
    proxy on;
    imap_auth plain login;
    server {{
        listen 127.0.0.1:{port};
        protocol imap;
    }}
{tls_server}}}
"#,
            auth = auth.addr(),
        );
        let config_path = dir.path().join("nginx.conf");
        std::fs::write(&config_path, config).expect("write nginx.conf");
        let log = std::fs::File::create(dir.path().join("stderr.log")).expect("create stderr.log");
        let nginx = NGINX.to_owned();
        let mut command = wrapper.iter().chain([&nginx]);
        let master = Command::new(command.next().unwrap_or(&nginx))
            .args(command)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&config_path)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start nginx");
        let mut proxy = NginxMailProxy {
            dir,
            master: Some(master),
            port,
            tls_port,
            _auth: auth,
        };
        let addr = proxy.addr();
        let ready = wait_until(Duration::from_secs(10), || {
            if let Some(Ok(Some(status))) = proxy.master.as_mut().map(Child::try_wait) {
                panic!("nginx exited with {status}:\n{}", proxy.logs());
            }
            imap_greets(&addr).then_some(())
        });
        assert!(ready.is_some(), "nginx does not greet:\n{}", proxy.logs());
        proxy
    }

    /// `127.0.0.1:PORT` of the plaintext IMAP listener.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:PORT` of the implicit-TLS listener, if it has one.
    pub fn tls_addr(&self) -> Option<String> {
        self.tls_port.map(|port| format!("127.0.0.1:{port}"))
    }

    /// The master's pid and its workers', while it runs.
    pub fn pids(&self) -> Vec<u32> {
        let Some(master) = self.master.as_ref().map(Child::id) else {
            return Vec::new();
        };
        let mut pids = vec![master];
        pids.extend(procfs::children(master));
        pids
    }

    /// The end of its error log and of its stderr.
    pub fn logs(&self) -> String {
        format!(
            "--- nginx in {} ---\n--- error.log ---\n{}\n--- stderr ---\n{}\n---",
            self.dir.path().display(),
            log_tail(&self.dir.path().join("error.log")),
            log_tail(&self.dir.path().join("stderr.log"))
        )
    }
}

impl Drop for NginxMailProxy {
    fn drop(&mut self) {
        let pids = self.pids();
        let Some(mut master) = self.master.take() else {
            return;
        };
        // SIGTERM: the master stops its workers and exits; whatever is left gets SIGKILL.
        let _ = Command::new("kill")
            .args(["-TERM", &master.id().to_string()])
            .status();
        let exited = wait_until(Duration::from_secs(5), || master.try_wait().ok().flatten());
        if exited.is_none() {
            let _ = master.kill();
            let _ = master.wait();
        }
        for pid in pids.iter().skip(1) {
            if Path::new(&format!("/proc/{pid}")).exists() {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}
