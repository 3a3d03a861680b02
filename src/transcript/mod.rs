//! Transcript data: segments with times, the non-speech filter, and output formats.

mod formats;
mod write;

pub use formats::{render, Format, FormatListError};
pub use write::{output_paths, write_outputs};

use serde::Serialize;

/// One recognised stretch of speech, times in seconds from the start of the audio.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub text: String,
}

/// A finished transcript of one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transcript {
    pub model: String,
    pub language: String,
    pub duration_seconds: f64,
    pub segments: Vec<Segment>,
}

impl Transcript {
    /// The whole text: segment texts joined by single spaces.
    pub fn text(&self) -> String {
        let parts: Vec<&str> = self.segments.iter().map(|s| s.text.as_str()).collect();
        parts.join(" ")
    }
}

/// Cleans raw engine segments: trims text, drops empty segments and whole-segment
/// non-speech tags such as `[BLANK_AUDIO]`, `[MUSIC]` or `(silence)`, and clamps times
/// into `0..=duration` with `end >= start`.
pub fn clean_segments(raw: Vec<Segment>, duration: f64) -> Vec<Segment> {
    raw.into_iter()
        .filter_map(|seg| {
            let text = seg.text.split_whitespace().collect::<Vec<_>>().join(" ");
            if text.is_empty() || is_non_speech_tag(&text) {
                return None;
            }
            let start = seg.start.clamp(0.0, duration);
            let end = seg.end.clamp(start, duration.max(start));
            Some(Segment { start, end, text })
        })
        .collect()
}

/// A segment that is only a bracketed annotation (`[BLANK_AUDIO]`, `[ Silence ]`, `(music)`).
fn is_non_speech_tag(text: &str) -> bool {
    let enclosed = |open: char, close: char| {
        text.starts_with(open)
            && text.ends_with(close)
            && text[1..text.len() - 1]
                .chars()
                .all(|c| c != open && c != close)
    };
    text.len() >= 2 && (enclosed('[', ']') || enclosed('(', ')') || enclosed('*', '*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start: f64, end: f64, text: &str) -> Segment {
        Segment {
            start,
            end,
            text: text.into(),
        }
    }

    #[test]
    fn drops_blank_audio_and_other_tags() {
        let raw = vec![
            seg(0.0, 1.0, " [BLANK_AUDIO]"),
            seg(1.0, 2.0, " (silence) "),
            seg(2.0, 3.0, "[ Music ]"),
            seg(3.0, 4.0, "  "),
            seg(4.0, 5.0, " Hello  there. "),
        ];
        let clean = clean_segments(raw, 10.0);
        assert_eq!(clean, vec![seg(4.0, 5.0, "Hello there.")]);
    }

    #[test]
    fn keeps_text_that_only_contains_brackets() {
        let clean = clean_segments(vec![seg(0.0, 1.0, "[a] and [b]")], 2.0);
        assert_eq!(clean.len(), 1);
        let clean = clean_segments(vec![seg(0.0, 1.0, "(laughs) ok")], 2.0);
        assert_eq!(clean.len(), 1);
    }

    #[test]
    fn clamps_times_into_the_audio() {
        let clean = clean_segments(vec![seg(-0.5, 12.0, "x"), seg(3.0, 2.0, "y")], 10.0);
        assert_eq!(clean[0].start, 0.0);
        assert_eq!(clean[0].end, 10.0);
        assert_eq!(clean[1].end, 3.0);
    }

    #[test]
    fn text_joins_segments() {
        let t = Transcript {
            model: "m".into(),
            language: "en".into(),
            duration_seconds: 2.0,
            segments: vec![seg(0.0, 1.0, "a b"), seg(1.0, 2.0, "c")],
        };
        assert_eq!(t.text(), "a b c");
    }
}
