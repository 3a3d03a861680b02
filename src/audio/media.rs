//! Media naming: which file extensions are audio/video, and readable names for codecs.

use std::ffi::OsStr;

use symphonia::core::codecs::{self as c, CodecType};

/// Extensions (lower case) of audio and video containers worth handing to the decoder.
const MEDIA_EXTENSIONS: &[&str] = &[
    // Uncompressed and lossless audio.
    "wav", "wave", "w64", "rf64", "bwf", "aiff", "aif", "aifc", "caf", "au", "snd", "flac", "alac",
    "ape", "wv", "tta", // Lossy audio.
    "mp3", "mp2", "mp1", "mpga", "ogg", "oga", "opus", "spx", "m4a", "m4b", "aac", "adts", "ac3",
    "eac3", "dts", "wma", "amr", "awb", "3ga", "mka", "mpc", "ra", "weba",
    // Video containers (their audio track is transcribed).
    "mp4", "m4v", "mov", "qt", "mkv", "webm", "avi", "wmv", "asf", "flv", "3gp", "3g2", "ts", "mts",
    "m2ts", "mpg", "mpeg", "vob", "ogv",
];

/// True if `ext` (without the dot, any case) names an audio or video container.
pub(super) fn is_media_extension(ext: &OsStr) -> bool {
    let Some(ext) = ext.to_str() else {
        return false;
    };
    MEDIA_EXTENSIONS
        .iter()
        .any(|known| known.eq_ignore_ascii_case(ext))
}

/// A short human name for a symphonia codec, e.g. "opus", "aac", "pcm".
pub(super) fn codec_name(codec: CodecType) -> String {
    let name = match codec {
        c::CODEC_TYPE_OPUS => "opus",
        c::CODEC_TYPE_VORBIS => "vorbis",
        c::CODEC_TYPE_MP1 => "mp1",
        c::CODEC_TYPE_MP2 => "mp2",
        c::CODEC_TYPE_MP3 => "mp3",
        c::CODEC_TYPE_AAC => "aac",
        c::CODEC_TYPE_SPEEX => "speex",
        c::CODEC_TYPE_MUSEPACK => "musepack",
        c::CODEC_TYPE_ATRAC1 | c::CODEC_TYPE_ATRAC3 => "atrac",
        c::CODEC_TYPE_ATRAC3PLUS | c::CODEC_TYPE_ATRAC9 => "atrac",
        c::CODEC_TYPE_EAC3 => "e-ac-3",
        c::CODEC_TYPE_AC4 => "ac-4",
        c::CODEC_TYPE_DCA => "dts",
        c::CODEC_TYPE_WMA => "wma",
        c::CODEC_TYPE_FLAC => "flac",
        c::CODEC_TYPE_WAVPACK => "wavpack",
        c::CODEC_TYPE_MONKEYS_AUDIO => "monkey's audio",
        c::CODEC_TYPE_ALAC => "alac",
        c::CODEC_TYPE_TTA => "tta",
        other => return fallback_name(other),
    };
    name.to_string()
}

/// Families of codec ids symphonia numbers in ranges.
fn fallback_name(codec: CodecType) -> String {
    let id = codec_id(codec);
    match id {
        0x100..=0x1ff => "pcm".to_string(),
        0x200..=0x2ff => "adpcm".to_string(),
        _ => format!("codec {codec}"),
    }
}

/// The numeric id behind a `CodecType` (symphonia prints it as hex).
fn codec_id(codec: CodecType) -> u32 {
    let text = codec.to_string();
    u32::from_str_radix(text.trim_start_matches("0x"), 16).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_extensions_case_insensitive() {
        for ext in [
            "wav", "WAV", "Mp3", "opus", "m4a", "MKV", "webm", "aif", "caf", "wma",
        ] {
            assert!(is_media_extension(OsStr::new(ext)), "{ext}");
        }
        for ext in ["txt", "srt", "json", "", "wav.part", "jpg"] {
            assert!(!is_media_extension(OsStr::new(ext)), "{ext}");
        }
    }

    #[test]
    fn codec_names() {
        assert_eq!(codec_name(c::CODEC_TYPE_OPUS), "opus");
        assert_eq!(codec_name(c::CODEC_TYPE_PCM_S16LE), "pcm");
        assert_eq!(codec_name(c::CODEC_TYPE_ADPCM_MS), "adpcm");
        assert_eq!(codec_name(c::CODEC_TYPE_NULL), "codec 0x0");
    }
}
