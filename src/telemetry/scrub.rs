//! Every log line passes through a scrubber that masks anything shaped like a CPR number or a
//! JWT: the code never logs them on purpose, and this makes sure a mistake somewhere (an error
//! message quoting input, say) cannot leak one.

use std::io::{self, Write};
use tracing_subscriber::fmt::MakeWriter;

/// Writes log lines to stderr with personal identifiers masked.
#[derive(Clone, Copy)]
pub struct ScrubbedStderr;

impl<'a> MakeWriter<'a> for ScrubbedStderr {
    type Writer = Scrubbed<io::Stderr>;
    fn make_writer(&'a self) -> Self::Writer {
        Scrubbed(io::stderr())
    }
}

/// The fmt layer formats a whole event and then writes it with one call, so scrubbing each
/// `write` sees whole lines.
pub struct Scrubbed<W: Write>(pub W);

impl<W: Write> Write for Scrubbed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(&scrub(buf))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

const CPR_MASK: &[u8] = b"[cpr]";
const JWT_MASK: &[u8] = b"[jwt]";

/// Masks CPR-shaped numbers (10 digits, or 6 + `-` + 4, not part of a longer word) and
/// compact JWTs (`eyJ…` with two dots).
pub fn scrub(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut previous: Option<u8> = None;
    let mut rest = input;
    while let [first, tail @ ..] = rest {
        if previous.is_none_or(|p| !is_word(p)) {
            let masked = cpr_at(rest)
                .map(|len| (CPR_MASK, len))
                .or_else(|| jwt_at(rest).map(|len| (JWT_MASK, len)));
            if let Some((mask, len)) = masked {
                out.extend_from_slice(mask);
                let (matched, after) = rest.split_at(len);
                previous = matched.last().copied();
                rest = after;
                continue;
            }
        }
        out.push(*first);
        previous = Some(*first);
        rest = tail;
    }
    out
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn cpr_at(s: &[u8]) -> Option<usize> {
    let digits = |r: Option<&[u8]>| r.is_some_and(|r| r.iter().all(u8::is_ascii_digit));
    let len = if digits(s.get(..10)) {
        10
    } else if digits(s.get(..6)) && s.get(6) == Some(&b'-') && digits(s.get(7..11)) {
        11
    } else {
        return None;
    };
    match s.get(len) {
        Some(&b) if is_word(b) => None,
        _ => Some(len),
    }
}

fn jwt_at(s: &[u8]) -> Option<usize> {
    if !s.starts_with(b"eyJ") {
        return None;
    }
    let b64 = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let mut dots = 0;
    let mut len = 0;
    for &b in s {
        if b == b'.' {
            dots += 1;
        } else if !b64(b) {
            break;
        }
        len += 1;
    }
    (dots >= 2).then_some(len)
}

#[cfg(test)]
mod tests {
    use super::scrub;

    fn s(x: &str) -> String {
        String::from_utf8(scrub(x.as_bytes())).expect("utf8")
    }

    #[test]
    fn masks_cpr_numbers_with_and_without_dash() {
        assert_eq!(s("cpr=0103521234 ok"), "cpr=[cpr] ok");
        assert_eq!(s("\"010352-1234\""), "\"[cpr]\"");
        assert_eq!(s("0103521234"), "[cpr]");
    }

    #[test]
    fn leaves_other_numbers_alone() {
        assert_eq!(s("duration_ms=12345"), "duration_ms=12345");
        assert_eq!(s("id 123456789012"), "id 123456789012");
        assert_eq!(s("x0103521234"), "x0103521234");
        assert_eq!(s("2022-03-14T10:22:05+01:00"), "2022-03-14T10:22:05+01:00");
    }

    #[test]
    fn masks_jwts() {
        assert_eq!(
            s("Bearer eyJhbGc.eyJzdWIi.sig-_x rest"),
            "Bearer [jwt] rest"
        );
        assert_eq!(s("eyJonly"), "eyJonly");
    }
}
