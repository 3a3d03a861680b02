//! CTranslate2 variable names -> whisper.cpp tensor names: the list of tensors to write, the
//! fused attention projections to split, the shapes whisper.cpp will insist on.

use std::io::{Read, Seek};

use super::ct2::{Ct2Model, Tensor};
use super::error::ConvertError;
use super::hparams::Hparams;

/// How a tensor is stored in the ggml file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A 2-D weight matrix: f16, or q8_0 when quantising.
    Matrix,
    /// A convolution kernel: always f16.
    Conv,
    /// Biases, norms, positional embeddings: always f32.
    F32,
}

/// One tensor of the output and where its values come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// whisper.cpp's name, e.g. `encoder.blocks.0.attn.query.weight`.
    pub name: String,
    /// The CTranslate2 variable, e.g. `encoder/layer_0/self_attention/linear_0/weight`.
    pub source: String,
    /// The shape the source must have (row-major).
    pub source_shape: Vec<usize>,
    /// `Some((i, n))`: take the i-th of n equal row blocks of the source (fused Q/K/V).
    pub part: Option<(usize, usize)>,
    /// The shape written (row-major; ggml stores it reversed).
    pub shape: Vec<usize>,
    pub kind: Kind,
}

/// Every tensor whisper.cpp's loader creates for these sizes, in a stable order.
pub fn plan(hp: &Hparams) -> Vec<Planned> {
    let mut p = Plan::default();
    let d = hp.n_audio_state as usize;
    p.encoder_globals(hp, d);
    for i in 0..hp.n_audio_layer {
        p.encoder_layer(i, d);
    }
    p.decoder_globals(hp, d);
    for i in 0..hp.n_text_layer {
        p.decoder_layer(i, d);
    }
    p.0
}

#[derive(Default)]
struct Plan(Vec<Planned>);

impl Plan {
    fn whole(&mut self, name: String, source: String, shape: &[usize], kind: Kind) {
        self.0.push(Planned {
            name,
            source,
            source_shape: shape.to_vec(),
            part: None,
            shape: shape.to_vec(),
            kind,
        });
    }

    /// The `index`-th of `parts` row blocks of `source`, each of shape `shape`.
    fn part(
        &mut self,
        name: String,
        source: String,
        (index, parts): (usize, usize),
        shape: &[usize],
    ) {
        let mut source_shape = shape.to_vec();
        source_shape[0] *= parts;
        let kind = if shape.len() == 2 {
            Kind::Matrix
        } else {
            Kind::F32
        };
        let part = Some((index, parts));
        let shape = shape.to_vec();
        self.0.push(Planned {
            name,
            source,
            source_shape,
            part,
            shape,
            kind,
        });
    }

    /// A `d_out x d_in` linear layer: `.weight` and `.bias`.
    fn linear(&mut self, out: &str, src: &str, d_out: usize, d_in: usize) {
        self.whole(
            format!("{out}.weight"),
            format!("{src}/weight"),
            &[d_out, d_in],
            Kind::Matrix,
        );
        self.whole(
            format!("{out}.bias"),
            format!("{src}/bias"),
            &[d_out],
            Kind::F32,
        );
    }

    /// A layer norm: CTranslate2's `gamma`/`beta` are whisper.cpp's `weight`/`bias`.
    fn norm(&mut self, out: &str, src: &str, d: usize) {
        self.whole(
            format!("{out}.weight"),
            format!("{src}/gamma"),
            &[d],
            Kind::F32,
        );
        self.whole(
            format!("{out}.bias"),
            format!("{src}/beta"),
            &[d],
            Kind::F32,
        );
    }

    /// Query, key and value from one fused projection of `parts` blocks starting at `first`.
    /// The key bias is dropped: whisper has none (CTranslate2 stores zeros), and a bias on the
    /// key adds the same amount to every score of a query, which softmax cancels anyway.
    fn fused(&mut self, out: &str, src: &str, heads: &[&str], parts: usize, d: usize) {
        for (index, head) in heads.iter().enumerate() {
            let (w, b) = (format!("{src}/weight"), format!("{src}/bias"));
            self.part(format!("{out}.{head}.weight"), w, (index, parts), &[d, d]);
            if *head != "key" {
                self.part(format!("{out}.{head}.bias"), b, (index, parts), &[d]);
            }
        }
    }

    fn self_attention(&mut self, out: &str, src: &str, d: usize) {
        self.norm(
            &format!("{out}.attn_ln"),
            &format!("{src}/self_attention/layer_norm"),
            d,
        );
        let fused = format!("{src}/self_attention/linear_0");
        self.fused(
            &format!("{out}.attn"),
            &fused,
            &["query", "key", "value"],
            3,
            d,
        );
        let proj = format!("{src}/self_attention/linear_1");
        self.linear(&format!("{out}.attn.out"), &proj, d, d);
    }

    fn mlp(&mut self, out: &str, src: &str, d: usize) {
        self.norm(
            &format!("{out}.mlp_ln"),
            &format!("{src}/ffn/layer_norm"),
            d,
        );
        self.linear(
            &format!("{out}.mlp.0"),
            &format!("{src}/ffn/linear_0"),
            4 * d,
            d,
        );
        self.linear(
            &format!("{out}.mlp.2"),
            &format!("{src}/ffn/linear_1"),
            d,
            4 * d,
        );
    }

    fn encoder_globals(&mut self, hp: &Hparams, d: usize) {
        let (ctx, mels) = (hp.n_audio_ctx as usize, hp.n_mels as usize);
        let pe = "encoder/position_encodings/encodings".to_owned();
        self.whole(
            "encoder.positional_embedding".into(),
            pe,
            &[ctx, d],
            Kind::F32,
        );
        for (conv, d_in) in [("conv1", mels), ("conv2", d)] {
            let (out, src) = (format!("encoder.{conv}"), format!("encoder/{conv}"));
            self.whole(
                format!("{out}.weight"),
                format!("{src}/weight"),
                &[d, d_in, 3],
                Kind::Conv,
            );
            self.conv_bias(format!("{out}.bias"), format!("{src}/bias"), d);
        }
        self.norm("encoder.ln_post", "encoder/layer_norm", d);
    }

    /// whisper.cpp wants conv biases as `(d, 1)` so they broadcast over time.
    fn conv_bias(&mut self, name: String, source: String, d: usize) {
        let (source_shape, shape) = (vec![d], vec![d, 1]);
        self.0.push(Planned {
            name,
            source,
            source_shape,
            part: None,
            shape,
            kind: Kind::F32,
        });
    }

    fn encoder_layer(&mut self, i: u32, d: usize) {
        let (out, src) = (format!("encoder.blocks.{i}"), format!("encoder/layer_{i}"));
        self.self_attention(&out, &src, d);
        self.mlp(&out, &src, d);
    }

    fn decoder_globals(&mut self, hp: &Hparams, d: usize) {
        let (ctx, vocab) = (hp.n_text_ctx as usize, hp.n_vocab as usize);
        let pe = "decoder/position_encodings/encodings".to_owned();
        self.whole(
            "decoder.positional_embedding".into(),
            pe,
            &[ctx, d],
            Kind::F32,
        );
        let emb = "decoder/embeddings/weight".to_owned();
        self.whole(
            "decoder.token_embedding.weight".into(),
            emb,
            &[vocab, d],
            Kind::Matrix,
        );
        self.norm("decoder.ln", "decoder/layer_norm", d);
    }

    fn decoder_layer(&mut self, i: u32, d: usize) {
        let (out, src) = (format!("decoder.blocks.{i}"), format!("decoder/layer_{i}"));
        self.self_attention(&out, &src, d);
        let cross = format!("{out}.cross_attn");
        self.norm(
            &format!("{cross}_ln"),
            &format!("{src}/attention/layer_norm"),
            d,
        );
        self.linear(
            &format!("{cross}.query"),
            &format!("{src}/attention/linear_0"),
            d,
            d,
        );
        let kv = format!("{src}/attention/linear_1");
        self.fused(&cross, &kv, &["key", "value"], 2, d);
        self.linear(
            &format!("{cross}.out"),
            &format!("{src}/attention/linear_2"),
            d,
            d,
        );
        self.mlp(&out, &src, d);
    }
}

/// Checks that every source exists with the planned shape, before anything is written.
pub fn check_sources<R: Read + Seek>(
    plan: &[Planned],
    m: &Ct2Model<R>,
) -> Result<(), ConvertError> {
    for t in plan {
        let shape = m.shape(&t.source)?;
        if shape != t.source_shape.as_slice() {
            let what = format!(
                "shape {shape:?}, but whisper.cpp needs {:?}",
                t.source_shape
            );
            return Err(ConvertError::bad_tensor(&t.source, what));
        }
    }
    Ok(())
}

/// Reads the values of `t` (the right block of a fused source), in row-major order.
pub fn load<R: Read + Seek>(t: &Planned, m: &mut Ct2Model<R>) -> Result<Vec<f32>, ConvertError> {
    let Tensor { shape, data } = m.read_tensor(&t.source)?;
    if shape != t.source_shape {
        return Err(ConvertError::bad_tensor(
            &t.source,
            format!("unexpected shape {shape:?}"),
        ));
    }
    let Some((index, parts)) = t.part else {
        return Ok(data);
    };
    let block = data.len() / parts;
    Ok(data[index * block..(index + 1) * block].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_en() -> Hparams {
        Hparams {
            n_vocab: 51864,
            n_audio_ctx: 1500,
            n_audio_state: 384,
            n_audio_head: 6,
            n_audio_layer: 4,
            n_text_ctx: 448,
            n_text_state: 384,
            n_text_head: 6,
            n_text_layer: 4,
            n_mels: 80,
        }
    }

    fn find<'a>(plan: &'a [Planned], name: &str) -> &'a Planned {
        plan.iter().find(|t| t.name == name).unwrap()
    }

    #[test]
    fn plans_the_167_tensors_whisper_cpp_creates_for_tiny() {
        let plan = plan(&tiny_en());
        // whisper.cpp: 7 encoder globals + 15 per encoder layer + 4 decoder globals + 24 per layer.
        assert_eq!(plan.len(), 7 + 15 * 4 + 4 + 24 * 4);
        let mut names: Vec<_> = plan.iter().map(|t| t.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), plan.len(), "names are unique");
        assert!(!names.iter().any(|n| n.ends_with("key.bias")));
    }

    #[test]
    fn splits_fused_projections_into_row_blocks() {
        let plan = plan(&tiny_en());
        let v = find(&plan, "encoder.blocks.1.attn.value.weight");
        assert_eq!(v.source, "encoder/layer_1/self_attention/linear_0/weight");
        assert_eq!(
            (v.part, v.source_shape.as_slice()),
            (Some((2, 3)), &[1152, 384][..])
        );
        let k = find(&plan, "decoder.blocks.3.cross_attn.key.weight");
        assert_eq!(k.source, "decoder/layer_3/attention/linear_1/weight");
        assert_eq!(k.part, Some((0, 2)));
        let vb = find(&plan, "decoder.blocks.3.cross_attn.value.bias");
        assert_eq!((vb.part, vb.kind), (Some((1, 2)), Kind::F32));
        let q = find(&plan, "decoder.blocks.0.cross_attn.query.weight");
        assert_eq!(q.source, "decoder/layer_0/attention/linear_0/weight");
    }

    #[test]
    fn renames_norms_mlps_and_globals() {
        let plan = plan(&tiny_en());
        let ln = find(&plan, "decoder.blocks.2.cross_attn_ln.bias");
        assert_eq!(ln.source, "decoder/layer_2/attention/layer_norm/beta");
        let mlp = find(&plan, "encoder.blocks.0.mlp.2.weight");
        assert_eq!(
            (mlp.source.as_str(), mlp.shape.as_slice()),
            ("encoder/layer_0/ffn/linear_1/weight", &[384, 1536][..])
        );
        let post = find(&plan, "encoder.ln_post.weight");
        assert_eq!(post.source, "encoder/layer_norm/gamma");
        let bias = find(&plan, "encoder.conv1.bias");
        assert_eq!(
            (bias.source_shape.as_slice(), bias.shape.as_slice()),
            (&[384][..], &[384, 1][..])
        );
        assert_eq!(find(&plan, "encoder.conv2.weight").kind, Kind::Conv);
        assert_eq!(
            find(&plan, "decoder.token_embedding.weight").kind,
            Kind::Matrix
        );
        assert_eq!(find(&plan, "decoder.positional_embedding").kind, Kind::F32);
    }

    #[test]
    fn load_takes_the_requested_block() {
        use crate::convert::ct2::tests::{build, f32_bytes};
        let values: Vec<f32> = (0..6).map(|v| v as f32).collect();
        let bytes = build(6, &[("a/linear_1/bias", &[6], 0, f32_bytes(&values))], &[]);
        let len = bytes.len() as u64;
        let mut m = Ct2Model::from_reader(std::io::Cursor::new(bytes), len, "m".into()).unwrap();
        let mut p = Plan::default();
        p.fused("x", "a/linear_1", &["key", "value"], 2, 3);
        let value_bias = p.0.iter().find(|t| t.name == "x.value.bias").unwrap();
        assert_eq!(load(value_bias, &mut m).unwrap(), vec![3.0, 4.0, 5.0]);
    }
}
