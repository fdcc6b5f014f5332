//! `contentType`: the media type of a body that came without one, read from its first bytes
//! exactly as Go's `http.DetectContentType` (what Traefik runs) reads it: the WHATWG MIME
//! sniffing signatures in Go's order, `text/plain; charset=utf-8` for text and
//! `application/octet-stream` for the rest. Pure.

/// How many leading bytes are looked at.
pub const SNIFF_LEN: usize = 512;

enum Sig {
    /// An HTML tag (case-insensitive) after leading whitespace, then a space or `>`.
    Html(&'static [u8]),
    /// `data & mask == pattern` (after leading whitespace when `skip_ws`).
    Masked {
        mask: &'static [u8],
        pattern: &'static [u8],
        skip_ws: bool,
        ct: &'static str,
    },
    Exact(&'static [u8], &'static str),
    Mp4,
    Text,
}

const HTML: &str = "text/html; charset=utf-8";
/// 34 zero bytes then `LP` (Embedded OpenType), and its mask.
const EOT_PATTERN: &[u8] =
    b"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0LP";
const EOT_MASK: &[u8] =
    b"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\xFF\xFF";

const SIGNATURES: &[Sig] = &[
    Sig::Html(b"<!DOCTYPE HTML"),
    Sig::Html(b"<HTML"),
    Sig::Html(b"<HEAD"),
    Sig::Html(b"<SCRIPT"),
    Sig::Html(b"<IFRAME"),
    Sig::Html(b"<H1"),
    Sig::Html(b"<DIV"),
    Sig::Html(b"<FONT"),
    Sig::Html(b"<TABLE"),
    Sig::Html(b"<A"),
    Sig::Html(b"<STYLE"),
    Sig::Html(b"<TITLE"),
    Sig::Html(b"<B"),
    Sig::Html(b"<BODY"),
    Sig::Html(b"<BR"),
    Sig::Html(b"<P"),
    Sig::Html(b"<!--"),
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF",
        pattern: b"<?xml",
        skip_ws: true,
        ct: "text/xml; charset=utf-8",
    },
    Sig::Exact(b"%PDF-", "application/pdf"),
    Sig::Exact(b"%!PS-Adobe-", "application/postscript"),
    // Byte order marks.
    Sig::Masked {
        mask: b"\xFF\xFF\x00\x00",
        pattern: b"\xFE\xFF\x00\x00",
        skip_ws: false,
        ct: "text/plain; charset=utf-16be",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\x00\x00",
        pattern: b"\xFF\xFE\x00\x00",
        skip_ws: false,
        ct: "text/plain; charset=utf-16le",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\x00",
        pattern: b"\xEF\xBB\xBF\x00",
        skip_ws: false,
        ct: "text/plain; charset=utf-8",
    },
    // Images.
    Sig::Exact(b"\x00\x00\x01\x00", "image/x-icon"),
    Sig::Exact(b"\x00\x00\x02\x00", "image/x-icon"),
    Sig::Exact(b"BM", "image/bmp"),
    Sig::Exact(b"GIF87a", "image/gif"),
    Sig::Exact(b"GIF89a", "image/gif"),
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF\xFF\xFF",
        pattern: b"RIFF\x00\x00\x00\x00WEBPVP",
        skip_ws: false,
        ct: "image/webp",
    },
    Sig::Exact(b"\x89PNG\x0D\x0A\x1A\x0A", "image/png"),
    Sig::Exact(b"\xFF\xD8\xFF", "image/jpeg"),
    // Audio and video.
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF",
        pattern: b"FORM\x00\x00\x00\x00AIFF",
        skip_ws: false,
        ct: "audio/aiff",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\xFF",
        pattern: b"ID3",
        skip_ws: false,
        ct: "audio/mpeg",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF",
        pattern: b"OggS\x00",
        skip_ws: false,
        ct: "application/ogg",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF",
        pattern: b"MThd\x00\x00\x00\x06",
        skip_ws: false,
        ct: "audio/midi",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF",
        pattern: b"RIFF\x00\x00\x00\x00AVI ",
        skip_ws: false,
        ct: "video/avi",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF",
        pattern: b"RIFF\x00\x00\x00\x00WAVE",
        skip_ws: false,
        ct: "audio/wave",
    },
    Sig::Mp4,
    Sig::Exact(b"\x1A\x45\xDF\xA3", "video/webm"),
    // Fonts.
    Sig::Masked {
        mask: EOT_MASK,
        pattern: EOT_PATTERN,
        skip_ws: false,
        ct: "application/vnd.ms-fontobject",
    },
    Sig::Exact(b"\x00\x01\x00\x00", "font/ttf"),
    Sig::Exact(b"OTTO", "font/otf"),
    Sig::Exact(b"ttcf", "font/collection"),
    Sig::Exact(b"wOFF", "font/woff"),
    Sig::Exact(b"wOF2", "font/woff2"),
    // Archives.
    Sig::Exact(b"\x1F\x8B\x08", "application/x-gzip"),
    Sig::Exact(b"PK\x03\x04", "application/zip"),
    Sig::Exact(b"Rar!\x1A\x07\x00", "application/x-rar-compressed"),
    Sig::Exact(b"Rar!\x1A\x07\x01\x00", "application/x-rar-compressed"),
    Sig::Exact(b"\x00\x61\x73\x6D", "application/wasm"),
    Sig::Text,
];

fn is_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// The media type of a body that starts with `data` (at most [`SNIFF_LEN`] bytes are read).
pub fn detect_content_type(data: &[u8]) -> &'static str {
    let data = &data[..data.len().min(SNIFF_LEN)];
    let first_non_ws = data.iter().position(|&b| !is_ws(b)).unwrap_or(data.len());
    SIGNATURES
        .iter()
        .find_map(|sig| matches(sig, data, first_non_ws))
        .unwrap_or("application/octet-stream")
}

fn matches(sig: &Sig, data: &[u8], first_non_ws: usize) -> Option<&'static str> {
    match sig {
        Sig::Html(tag) => {
            let data = &data[first_non_ws..];
            if data.len() < tag.len() + 1 {
                return None;
            }
            let same = tag.iter().zip(data).all(|(&t, &d)| {
                let d = if t.is_ascii_uppercase() { d & 0xDF } else { d };
                t == d
            });
            // Then a tag-terminating byte: a space or `>`.
            (same && matches!(data[tag.len()], b' ' | b'>')).then_some(HTML)
        }
        Sig::Masked {
            mask,
            pattern,
            skip_ws,
            ct,
        } => {
            let data = if *skip_ws {
                &data[first_non_ws..]
            } else {
                data
            };
            if data.len() < pattern.len() {
                return None;
            }
            let same = (pattern.iter().zip(mask.iter()).zip(data)).all(|((&p, &m), &d)| d & m == p);
            same.then_some(*ct)
        }
        Sig::Exact(prefix, ct) => data.starts_with(prefix).then_some(*ct),
        Sig::Mp4 => is_mp4(data).then_some("video/mp4"),
        Sig::Text => {
            let binary = data[first_non_ws..].iter().any(|&b| {
                b <= 0x08 || b == 0x0B || (0x0E..=0x1A).contains(&b) || (0x1C..=0x1F).contains(&b)
            });
            (!binary).then_some("text/plain; charset=utf-8")
        }
    }
}

/// An ISO base media file whose `ftyp` box names an `mp4` brand.
fn is_mp4(data: &[u8]) -> bool {
    if data.len() < 12 {
        return false;
    }
    let box_size = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
    if data.len() < box_size || box_size % 4 != 0 || &data[4..8] != b"ftyp" {
        return false;
    }
    // Brands from byte 8, four bytes each, skipping the major brand's version (byte 12).
    (8..box_size)
        .step_by(4)
        .filter(|&st| st != 12)
        .any(|st| &data[st..st + 3] == b"mp4")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cases of Go's own `sniff_test.go` table (the ones it documents per signature).
    #[test]
    fn reads_as_go_detect_content_type() {
        let cases: &[(&str, &[u8], &str)] = &[
            ("empty", b"", "text/plain; charset=utf-8"),
            ("binary", b"\x01\x02\x03", "application/octet-stream"),
            ("HTML document #1", b"<HtMl><bOdY>blah blah blah</body></html>", HTML),
            ("HTML document #2", b"<HTML></HTML>", HTML),
            ("HTML document #3 (leading whitespace)", b"   <!DOCTYPE HTML>...", HTML),
            ("HTML document #4 (leading CRLF)", b"\r\n<html>...", HTML),
            ("Plain text", b"This is not HTML. It has \xe2\x98\x83 though.", "text/plain; charset=utf-8"),
            ("XML", b"\n<?xml!", "text/xml; charset=utf-8"),
            ("Windows icon", b"\x00\x00\x01\x00", "image/x-icon"),
            ("Windows cursor", b"\x00\x00\x02\x00", "image/x-icon"),
            ("BMP image", b"BM...", "image/bmp"),
            ("GIF 87a", b"GIF87a", "image/gif"),
            ("GIF 89a", b"GIF89a...", "image/gif"),
            ("WEBP image", b"RIFF\x00\x00\x00\x00WEBPVP", "image/webp"),
            ("PNG image", b"\x89PNG\x0D\x0A\x1A\x0A", "image/png"),
            ("JPEG image", b"\xFF\xD8\xFF", "image/jpeg"),
            ("AIFF audio #1", b"FORM\x00\x00\x00\x00AIFF", "audio/aiff"),
            ("MP3 audio", b"ID3\x03\x00\x00\x00\x00\x0f", "audio/mpeg"),
            ("OGG audio", b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x7e\x46\x00\x00\x00\x00\x00\x00\x1f\xf6\xb4\xfc\x01\x1e\x01\x76\x6f\x72", "application/ogg"),
            ("MIDI audio", b"MThd\x00\x00\x00\x06\x00\x01", "audio/midi"),
            ("WAV audio #1", b"RIFFb\xb8\x00\x00WAVEfmt \x12\x00\x00\x00\x06", "audio/wave"),
            ("AVI video #1", b"RIFF,O\n\x00AVI LIST\xc3\x80", "video/avi"),
            ("MP4 video", b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom<\x06t\xbfmdat", "video/mp4"),
            ("MP4 without an mp4 brand", b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00isomiso2", "application/octet-stream"),
            ("WebM video", b"\x1aE\xdf\xa3\x01\x00\x00\x00\x00\x00\x00\x1fB\x86\x81\x01B", "video/webm"),
            ("TTF font", b"\x00\x01\x00\x00\x00\x10\x01\x00\x00\x04\x00\x00GDEF", "font/ttf"),
            ("OTF font", b"OTTO\x00\x10\x01\x00", "font/otf"),
            ("TTC font", b"ttcf\x00\x01\x00\x00", "font/collection"),
            ("WOFF font", b"wOFF\x00\x01\x00\x00", "font/woff"),
            ("WOFF2 font", b"wOF2\x00\x01\x00\x00", "font/woff2"),
            ("gzip", b"\x1F\x8B\x08", "application/x-gzip"),
            ("zip", b"PK\x03\x04", "application/zip"),
            ("RAR v1.5-v4.0", b"Rar!\x1A\x07\x00", "application/x-rar-compressed"),
            ("RAR v5+", b"Rar!\x1A\x07\x01\x00", "application/x-rar-compressed"),
            ("Incorrect RAR v1.5-v4.0", b"Rar \x1A\x07\x00", "application/octet-stream"),
            ("Wasm", b"\x00asm\x01\x00", "application/wasm"),
            ("PDF", b"%PDF-1.4", "application/pdf"),
            ("tag without terminator", b"<html", "text/plain; charset=utf-8"),
            ("JSON", b"{\"a\": 1}", "text/plain; charset=utf-8"),
        ];
        for (what, data, want) in cases {
            assert_eq!(detect_content_type(data), *want, "{what}");
        }
        let mut eot = EOT_PATTERN.to_vec();
        eot[3] = 7;
        assert_eq!(detect_content_type(&eot), "application/vnd.ms-fontobject");
        // Only the first 512 bytes count: a binary byte after them is not seen.
        let mut long = vec![b'a'; SNIFF_LEN];
        long.push(0x01);
        assert_eq!(detect_content_type(&long), "text/plain; charset=utf-8");
    }
}
