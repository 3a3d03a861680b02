//! The vocabulary whisper.cpp reads: the base (non-special) tokens of `tokenizer.json`, each
//! turned back from GPT-2's byte-level BPE alphabet into the raw bytes it stands for.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use serde::Deserialize;

use super::error::ConvertError;

pub const FILE: &str = "tokenizer.json";
/// Real tokenizers are ~2-3 MB; refuse anything absurd before reading it.
const MAX_BYTES: u64 = 64 << 20;
/// The first special token: the base vocabulary is every id below it.
const END_OF_TEXT: &str = "<|endoftext|>";

#[derive(Deserialize)]
struct TokenizerJson {
    model: BpeModel,
    #[serde(default)]
    added_tokens: Vec<AddedToken>,
}

#[derive(Deserialize)]
struct BpeModel {
    vocab: HashMap<String, u32>,
}

#[derive(Deserialize)]
struct AddedToken {
    id: u32,
    content: String,
}

/// Reads `tokenizer.json` and returns the base tokens as bytes, indexed by id. whisper.cpp
/// names the special tokens (from `<|endoftext|>` on) itself.
pub fn load(path: &Path, n_vocab: u32) -> Result<Vec<Vec<u8>>, ConvertError> {
    let text = read_bounded(path)?;
    let tok: TokenizerJson = serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
    let base = tok
        .added_tokens
        .iter()
        .find(|t| t.content == END_OF_TEXT)
        .map(|t| t.id)
        .ok_or_else(|| malformed(format!("no {END_OF_TEXT} token among added_tokens")))?;
    if base > n_vocab {
        let what = format!("{base} base tokens, but the model has only {n_vocab}");
        return Err(malformed(what));
    }
    base_tokens(&tok.model.vocab, base as usize)
}

fn read_bounded(path: &Path) -> Result<String, ConvertError> {
    let io_err = |e| ConvertError::io(path, e);
    let len = fs::metadata(path).map_err(io_err)?.len();
    if len > MAX_BYTES {
        return Err(malformed(format!(
            "{len} bytes is too large for a tokenizer"
        )));
    }
    fs::read_to_string(path).map_err(io_err)
}

/// Ids `0..base` as bytes; an id the vocabulary lacks becomes an empty token.
fn base_tokens(vocab: &HashMap<String, u32>, base: usize) -> Result<Vec<Vec<u8>>, ConvertError> {
    let mut tokens = vec![Vec::new(); base];
    for (text, &id) in vocab {
        let Some(slot) = tokens.get_mut(id as usize) else {
            continue;
        };
        *slot = token_bytes(text).ok_or_else(|| {
            malformed(format!(
                "token {id} ({text:?}) is not in GPT-2's byte-level alphabet"
            ))
        })?;
    }
    Ok(tokens)
}

fn malformed(what: String) -> ConvertError {
    ConvertError::Malformed { file: FILE, what }
}

/// Decodes a byte-level BPE token (`Ġthe` -> b" the"); `None` if a char is outside the alphabet.
pub fn token_bytes(token: &str) -> Option<Vec<u8>> {
    token.chars().map(char_to_byte).collect()
}

/// The inverse of GPT-2's `bytes_to_unicode`: printable Latin-1 bytes stand for themselves;
/// the other 68 bytes, in increasing order, were moved to U+0100, U+0101, ...
fn char_to_byte(c: char) -> Option<u8> {
    let code = u32::from(c);
    if let Ok(b) = u8::try_from(code) {
        return is_printable(b).then_some(b);
    }
    // The moved bytes are 0..=32, 127..=160 and 173 (0xAD, the soft hyphen).
    match code.checked_sub(256)? {
        i @ 0..=32 => u8::try_from(i).ok(),
        i @ 33..=66 => u8::try_from(i - 33 + 127).ok(),
        67 => Some(0xAD),
        _ => None,
    }
}

/// The bytes GPT-2 keeps as their own character: `!`..=`~`, `¡`..=`¬`, `®`..=`ÿ`.
fn is_printable(b: u8) -> bool {
    matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_byte_level_tokens() {
        assert_eq!(token_bytes("Ġthe").unwrap(), b" the");
        assert_eq!(token_bytes("Ċ").unwrap(), b"\n");
        assert_eq!(token_bytes("hello").unwrap(), b"hello");
        // "é" as UTF-8 is C3 A9, which GPT-2 writes as "Ã©".
        assert_eq!(token_bytes("Ã©").unwrap(), "é".as_bytes());
        assert_eq!(token_bytes("\u{100}").unwrap(), [0u8]);
        assert_eq!(token_bytes("\u{143}").unwrap(), [0xADu8]);
        assert_eq!(token_bytes("\u{144}"), None);
        assert_eq!(token_bytes(" "), None);
    }

    #[test]
    fn every_byte_has_exactly_one_character() {
        let printable = (0..=255u8).filter(|&b| is_printable(b)).count();
        assert_eq!(printable, 256 - 68);
        let mut seen = [false; 256];
        for code in (0u32..256 + 68).filter_map(char::from_u32) {
            if let Some(b) = char_to_byte(code) {
                assert!(!seen[usize::from(b)], "byte {b} mapped twice");
                seen[usize::from(b)] = true;
            }
        }
        assert!(seen.iter().all(|&s| s));
    }

    fn write(dir: &Path, json: &str) -> std::path::PathBuf {
        let path = dir.join(FILE);
        fs::write(&path, json).unwrap();
        path
    }

    #[test]
    fn keeps_tokens_below_end_of_text_and_fills_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let json = r#"{"model":{"vocab":{"a":0,"Ġb":2,"<|endoftext|>":3}},
            "added_tokens":[{"id":3,"content":"<|endoftext|>"}]}"#;
        let tokens = load(&write(dir.path(), json), 10).unwrap();
        assert_eq!(tokens, vec![b"a".to_vec(), vec![], b" b".to_vec()]);
    }

    #[test]
    fn reports_bad_tokenizers() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(&write(dir.path(), "{"), 10).unwrap_err().to_string();
        assert!(
            err.starts_with("tokenizer.json: EOF while parsing"),
            "{err}"
        );
        let json = r#"{"model":{"vocab":{}},"added_tokens":[{"id":4000000000,"content":"<|endoftext|>"}]}"#;
        let err = load(&write(dir.path(), json), 10).unwrap_err().to_string();
        assert!(err.contains("but the model has only 10"), "{err}");
        let json = r#"{"model":{"vocab":{}}}"#;
        let err = load(&write(dir.path(), json), 10).unwrap_err().to_string();
        assert!(err.contains("no <|endoftext|> token"), "{err}");
        let missing = load(&dir.path().join("nope.json"), 10).unwrap_err();
        assert!(matches!(missing, ConvertError::Io { .. }));
    }
}
