//! Renders a transcript as txt, srt, vtt or json.

use super::Transcript;
use std::fmt::Write as _;
use std::str::FromStr;

/// An output format, also the file extension it is written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Txt,
    Srt,
    Vtt,
    Json,
}

/// A format list such as `txt,srt,json` named something unknown.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("unknown output format {0:?} (expected txt, srt, vtt or json)")]
pub struct FormatListError(pub String);

impl Format {
    pub const ALL: [Format; 4] = [Format::Txt, Format::Srt, Format::Vtt, Format::Json];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Txt => "txt",
            Format::Srt => "srt",
            Format::Vtt => "vtt",
            Format::Json => "json",
        }
    }

    /// Parses `txt,srt` (comma separated, case-insensitive, duplicates collapsed, order kept).
    pub fn parse_list(list: &str) -> Result<Vec<Format>, FormatListError> {
        let mut out = Vec::new();
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let format: Format = part.parse()?;
            if !out.contains(&format) {
                out.push(format);
            }
        }
        if out.is_empty() {
            return Err(FormatListError(list.to_string()));
        }
        Ok(out)
    }
}

impl FromStr for Format {
    type Err = FormatListError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.extension().eq_ignore_ascii_case(s))
            .ok_or_else(|| FormatListError(s.to_string()))
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.extension())
    }
}

/// Renders `t` in `format`.
pub fn render(t: &Transcript, format: Format) -> String {
    match format {
        Format::Txt => render_txt(t),
        Format::Srt => render_srt(t),
        Format::Vtt => render_vtt(t),
        Format::Json => render_json(t),
    }
}

fn render_txt(t: &Transcript) -> String {
    t.segments
        .iter()
        .map(|s| format!("{}\n", one_line(&s.text)))
        .collect()
}

fn render_srt(t: &Transcript) -> String {
    let mut out = String::new();
    for (i, s) in t.segments.iter().enumerate() {
        let (a, b) = (timestamp(s.start, ','), timestamp(s.end, ','));
        let _ = write!(out, "{}\n{a} --> {b}\n{}\n\n", i + 1, one_line(&s.text));
    }
    out
}

fn render_vtt(t: &Transcript) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for (i, s) in t.segments.iter().enumerate() {
        let (a, b) = (timestamp(s.start, '.'), timestamp(s.end, '.'));
        let text = vtt_escape(&one_line(&s.text));
        let _ = write!(out, "{}\n{a} --> {b}\n{text}\n\n", i + 1);
    }
    out
}

fn render_json(t: &Transcript) -> String {
    let value = serde_json::json!({
        "model": t.model,
        "language": t.language,
        "duration_seconds": round_ms(t.duration_seconds),
        "segments": t.segments.iter().map(|s| serde_json::json!({
            "start": round_ms(s.start),
            "end": round_ms(s.end),
            "text": s.text,
        })).collect::<Vec<_>>(),
        "text": t.text(),
    });
    let mut out = serde_json::to_string_pretty(&value).unwrap_or_default();
    out.push('\n');
    out
}

fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// `HH:MM:SS,mmm` (srt, `sep = ','`) or `HH:MM:SS.mmm` (vtt, `sep = '.'`).
pub(crate) fn timestamp(seconds: f64, sep: char) -> String {
    let total_ms = (seconds.max(0.0) * 1000.0).round() as u64;
    let (h, rem) = (total_ms / 3_600_000, total_ms % 3_600_000);
    let (m, rem) = (rem / 60_000, rem % 60_000);
    let (s, ms) = (rem / 1000, rem % 1000);
    format!("{h:02}:{m:02}:{s:02}{sep}{ms:03}")
}

/// A cue must not contain a blank line (it would end the cue): fold line breaks to spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// WebVTT cue text treats `&`, `<` and `>` as markup (and `-->` must never appear).
fn vtt_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Segment;

    fn sample() -> Transcript {
        Transcript {
            model: "tiny.en".into(),
            language: "en".into(),
            duration_seconds: 3725.5,
            segments: vec![
                Segment {
                    start: 1.23,
                    end: 4.5,
                    text: "Hello, world.".into(),
                },
                Segment {
                    start: 3723.0456,
                    end: 3725.5,
                    text: "a <b> & c --> d\n\nnext".into(),
                },
            ],
        }
    }

    #[test]
    fn timestamps_have_fixed_width_and_round_to_ms() {
        assert_eq!(timestamp(0.0, ','), "00:00:00,000");
        assert_eq!(timestamp(1.23, ','), "00:00:01,230");
        assert_eq!(timestamp(1.23, '.'), "00:00:01.230");
        assert_eq!(timestamp(3723.0456, ','), "01:02:03,046");
        assert_eq!(timestamp(59.9996, '.'), "00:01:00.000");
        assert_eq!(timestamp(-1.0, '.'), "00:00:00.000");
    }

    #[test]
    fn srt_has_numbered_cues_and_no_blank_line_inside_a_cue() {
        let srt = render(&sample(), Format::Srt);
        let expected = "1\n00:00:01,230 --> 00:00:04,500\nHello, world.\n\n\
                        2\n01:02:03,046 --> 01:02:05,500\na <b> & c --> d next\n\n";
        assert_eq!(srt, expected);
    }

    #[test]
    fn vtt_has_header_and_escapes_markup() {
        let vtt = render(&sample(), Format::Vtt);
        assert!(vtt.starts_with("WEBVTT\n\n1\n00:00:01.230 --> 00:00:04.500\nHello, world.\n\n"));
        assert!(
            vtt.contains("2\n01:02:03.046 --> 01:02:05.500\na &lt;b&gt; &amp; c --&gt; d next\n")
        );
        assert_eq!(vtt.matches("-->").count(), 2);
    }

    #[test]
    fn txt_is_one_segment_per_line() {
        assert_eq!(
            render(&sample(), Format::Txt),
            "Hello, world.\na <b> & c --> d next\n"
        );
    }

    #[test]
    fn json_has_the_documented_fields() {
        let v: serde_json::Value = serde_json::from_str(&render(&sample(), Format::Json)).unwrap();
        assert_eq!(v["model"], "tiny.en");
        assert_eq!(v["language"], "en");
        assert_eq!(v["duration_seconds"], 3725.5);
        assert_eq!(v["segments"][0]["start"], 1.23);
        assert_eq!(v["segments"][1]["start"], 3723.046);
        assert_eq!(v["segments"][1]["text"], "a <b> & c --> d\n\nnext");
        assert_eq!(v["text"], "Hello, world. a <b> & c --> d\n\nnext");
    }

    #[test]
    fn empty_transcript_renders_valid_empty_files() {
        let t = Transcript {
            segments: vec![],
            ..sample()
        };
        assert_eq!(render(&t, Format::Txt), "");
        assert_eq!(render(&t, Format::Srt), "");
        assert_eq!(render(&t, Format::Vtt), "WEBVTT\n\n");
        let v: serde_json::Value = serde_json::from_str(&render(&t, Format::Json)).unwrap();
        assert_eq!(v["text"], "");
    }

    #[test]
    fn format_lists_parse_and_reject_unknown_names() {
        assert_eq!(
            Format::parse_list("TXT, srt,txt").unwrap(),
            vec![Format::Txt, Format::Srt]
        );
        assert_eq!(
            Format::parse_list("txt,doc"),
            Err(FormatListError("doc".into()))
        );
        assert!(Format::parse_list(" , ").is_err());
    }
}
