//! Plain SMTP (RFC 5321) for reminder e-mail: one connection per message, no TLS and no
//! authentication. Point it at a local relay (Postfix, OpenSMTPD, the district's mail
//! gateway on the internal network) that does TLS and authentication onwards.

use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("SMTP connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the SMTP server said {0}")]
    Refused(String),
    #[error("the SMTP server did not answer in time")]
    Timeout,
}

/// One message to send.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

/// RFC 2047 encoded-word for a non-ASCII header (subjects in Chinese).
fn header_text(s: &str) -> String {
    use base64::Engine;
    if s.is_ascii() {
        s.to_owned()
    } else {
        format!("=?UTF-8?B?{}?=", base64::engine::general_purpose::STANDARD.encode(s))
    }
}

/// Sends `m` through the SMTP server at `host:port`.
///
/// # Errors
/// [`MailError`] when the server cannot be reached or refuses a step.
pub async fn send(host: &str, port: u16, m: &Message<'_>) -> Result<(), MailError> {
    tokio::time::timeout(Duration::from_secs(20), send_inner(host, port, m)).await.map_err(|_| MailError::Timeout)?
}

async fn send_inner(host: &str, port: u16, m: &Message<'_>) -> Result<(), MailError> {
    let stream = TcpStream::connect((host, port)).await?;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);

    async fn reply(read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>, want: char) -> Result<(), MailError> {
        // A reply may span several lines ("250-…" then "250 …").
        loop {
            let mut line = String::new();
            if read.read_line(&mut line).await? == 0 {
                return Err(MailError::Refused("nothing (connection closed)".into()));
            }
            if !line.starts_with(want) {
                return Err(MailError::Refused(line.trim_end().to_owned()));
            }
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(());
            }
        }
    }

    reply(&mut read, '2').await?;
    for (cmd, want) in [
        ("EHLO labinn\r\n".to_owned(), '2'),
        (format!("MAIL FROM:<{}>\r\n", m.from), '2'),
        (format!("RCPT TO:<{}>\r\n", m.to), '2'),
        ("DATA\r\n".to_owned(), '3'),
    ] {
        write.write_all(cmd.as_bytes()).await?;
        reply(&mut read, want).await?;
    }
    let mut data = format!(
        "From: {}\r\nTo: {}\r\nSubject: {}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        m.from,
        m.to,
        header_text(m.subject)
    );
    for line in m.body.lines() {
        // Dot-stuffing: a line that starts with "." gets another.
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(line);
        data.push_str("\r\n");
    }
    data.push_str(".\r\n");
    write.write_all(data.as_bytes()).await?;
    reply(&mut read, '2').await?;
    write.write_all(b"QUIT\r\n").await?;
    Ok(())
}
