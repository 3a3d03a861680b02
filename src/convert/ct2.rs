//! CTranslate2 `model.bin` reader: the variable index (names, shapes, dtypes, aliases) is read
//! up front; tensor data is read on demand, one variable at a time.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::binreader::BinReader;
use super::dtype::{self, DType};
use super::error::ConvertError;

/// Name of the weights file in a CTranslate2 model folder (also the label in errors).
pub const FILE: &str = "model.bin";
/// The binary layout this reader implements (CTranslate2 3.x/4.x writes 6).
pub const BINARY_VERSION: u32 = 6;
/// The model specification this converter understands.
pub const WHISPER_SPEC: &str = "WhisperSpec";

/// One entry of the index: where a variable's bytes are and how to read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub shape: Vec<usize>,
    pub dtype: DType,
    offset: u64,
    nbytes: u64,
}

/// A variable decoded to f32, with its row-major shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

pub struct Ct2Model<R> {
    reader: R,
    path: PathBuf,
    variables: HashMap<String, Variable>,
    aliases: HashMap<String, String>,
}

impl Ct2Model<BufReader<File>> {
    /// Opens `model.bin` and reads its index.
    pub fn open(path: &Path) -> Result<Self, ConvertError> {
        let io_err = |e| ConvertError::io(path, e);
        let file = File::open(path).map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        Self::from_reader(BufReader::new(file), len, path.to_path_buf())
    }
}

impl<R: Read + Seek> Ct2Model<R> {
    /// Reads the index from `reader`, which holds `len` bytes.
    pub fn from_reader(reader: R, len: u64, path: PathBuf) -> Result<Self, ConvertError> {
        let mut r = BinReader::new(reader, len, path.clone(), FILE);
        read_preamble(&mut r)?;
        let variables = read_variables(&mut r)?;
        let aliases = read_aliases(&mut r)?;
        Ok(Self {
            reader: r.into_inner(),
            path,
            variables,
            aliases,
        })
    }

    /// The variable called `name`, following an alias (such as the tied output projection).
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        let target = self.aliases.get(name).map_or(name, String::as_str);
        self.variables.get(target)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.variable(name).is_some()
    }

    pub fn shape(&self, name: &str) -> Result<&[usize], ConvertError> {
        self.require(name).map(|v| v.shape.as_slice())
    }

    fn require(&self, name: &str) -> Result<&Variable, ConvertError> {
        self.variable(name)
            .ok_or_else(|| ConvertError::MissingTensor(name.to_owned()))
    }

    /// Errors unless `name` holds floats; int8 gets its own error (an int8-quantized model).
    pub fn require_float(&self, name: &str) -> Result<(), ConvertError> {
        check_float(name, self.require(name)?.dtype)
    }

    /// Reads a float variable (f32, f16 or bf16) as f32.
    pub fn read_tensor(&mut self, name: &str) -> Result<Tensor, ConvertError> {
        let var = self.require(name)?.clone();
        check_float(name, var.dtype)?;
        let bytes = self.read_raw(name, &var)?;
        let data = dtype::decode_floats(var.dtype, &bytes)
            .ok_or_else(|| ConvertError::bad_tensor(name, "data is not whole elements"))?;
        Ok(Tensor {
            shape: var.shape,
            data,
        })
    }

    /// Reads an integer setting stored as a scalar variable (e.g. `encoder/num_heads`).
    pub fn read_int(&mut self, name: &str) -> Result<i64, ConvertError> {
        let var = self.require(name)?.clone();
        let bytes = self.read_raw(name, &var)?;
        dtype::decode_int(var.dtype, &bytes).ok_or_else(|| {
            let what = format!("expected an integer scalar, found {}", var.dtype.name());
            ConvertError::bad_tensor(name, what)
        })
    }

    fn read_raw(&mut self, name: &str, var: &Variable) -> Result<Vec<u8>, ConvertError> {
        // The index checked offset + nbytes against the file length, so this is bounded.
        let size = usize::try_from(var.nbytes)
            .map_err(|_| ConvertError::bad_tensor(name, "too large for this platform"))?;
        let mut buf = vec![0u8; size];
        let io_err = |e| ConvertError::io(&self.path, e);
        self.reader
            .seek(SeekFrom::Start(var.offset))
            .map_err(io_err)?;
        self.reader.read_exact(&mut buf).map_err(io_err)?;
        Ok(buf)
    }
}

fn check_float(name: &str, dtype: DType) -> Result<(), ConvertError> {
    match dtype {
        DType::I8 => Err(ConvertError::Int8Quantized {
            name: name.to_owned(),
        }),
        d if d.is_float() => Ok(()),
        d => Err(ConvertError::bad_tensor(
            name,
            format!("expected floats, found {}", d.name()),
        )),
    }
}

/// Binary version, spec name and spec revision.
fn read_preamble<R: Read + Seek>(r: &mut BinReader<R>) -> Result<(), ConvertError> {
    let version = r.u32("binary version")?;
    if version != BINARY_VERSION {
        return Err(ConvertError::UnsupportedVersion {
            file: FILE,
            found: version,
            expected: BINARY_VERSION,
        });
    }
    let spec = r.string("model spec name")?;
    if spec != WHISPER_SPEC {
        let what = format!("model spec is {spec:?}, not {WHISPER_SPEC:?}: not a Whisper model");
        return Err(r.malformed(what));
    }
    r.u32("spec revision")?;
    Ok(())
}

fn read_variables<R: Read + Seek>(
    r: &mut BinReader<R>,
) -> Result<HashMap<String, Variable>, ConvertError> {
    let count = r.u32("variable count")?;
    // No capacity from `count`: each entry takes bytes, so a lying count hits the file's end.
    let mut variables = HashMap::new();
    for index in 0..count {
        let (name, var) = read_variable(r, index)?;
        if variables.insert(name.clone(), var).is_some() {
            return Err(r.malformed(format!("variable {name} appears twice")));
        }
    }
    Ok(variables)
}

fn read_variable<R: Read + Seek>(
    r: &mut BinReader<R>,
    index: u32,
) -> Result<(String, Variable), ConvertError> {
    let name = r.string(&format!("name of variable {index}"))?;
    let rank = r.u8(&format!("rank of variable {name}"))?;
    let mut shape = Vec::with_capacity(usize::from(rank));
    for _ in 0..rank {
        let dim = r.u32(&format!("shape of variable {name}"))?;
        shape.push(dim as usize);
    }
    let dtype_id = r.u8(&format!("dtype of variable {name}"))?;
    let dtype = DType::from_id(dtype_id)
        .ok_or_else(|| r.malformed(format!("variable {name} has unknown dtype id {dtype_id}")))?;
    let nbytes = u64::from(r.u32(&format!("byte count of variable {name}"))?);
    let offset = r.pos();
    let what = format!("data of variable {name} ({nbytes} bytes claimed)");
    r.skip(nbytes, &what)?;
    check_byte_count(r, &name, &shape, dtype, nbytes)?;
    let var = Variable {
        shape,
        dtype,
        offset,
        nbytes,
    };
    Ok((name, var))
}

fn check_byte_count<R>(
    r: &BinReader<R>,
    name: &str,
    shape: &[usize],
    dtype: DType,
    nbytes: u64,
) -> Result<(), ConvertError>
where
    R: Read + Seek,
{
    let expected = shape
        .iter()
        .try_fold(dtype.size() as u64, |acc, &d| acc.checked_mul(d as u64));
    if expected == Some(nbytes) {
        return Ok(());
    }
    let what = format!(
        "variable {name}: shape {shape:?} of {} does not match its {nbytes} bytes",
        dtype.name()
    );
    Err(r.malformed(what))
}

fn read_aliases<R: Read + Seek>(
    r: &mut BinReader<R>,
) -> Result<HashMap<String, String>, ConvertError> {
    let count = r.u32("alias count")?;
    let mut aliases = HashMap::new();
    for index in 0..count {
        let alias = r.string(&format!("name of alias {index}"))?;
        let target = r.string(&format!("target of alias {alias}"))?;
        aliases.insert(alias, target);
    }
    Ok(aliases)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Cursor;

    /// Builds a `model.bin` in memory: (name, shape, dtype id, raw bytes) and alias pairs.
    pub(crate) fn build(
        version: u32,
        vars: &[(&str, &[u32], u8, Vec<u8>)],
        aliases: &[(&str, &str)],
    ) -> Vec<u8> {
        let mut out = version.to_le_bytes().to_vec();
        put_string(&mut out, WHISPER_SPEC);
        out.extend(3u32.to_le_bytes());
        out.extend((vars.len() as u32).to_le_bytes());
        for (name, shape, dtype, bytes) in vars {
            put_string(&mut out, name);
            out.push(shape.len() as u8);
            shape.iter().for_each(|d| out.extend(d.to_le_bytes()));
            out.push(*dtype);
            out.extend((bytes.len() as u32).to_le_bytes());
            out.extend(bytes);
        }
        out.extend((aliases.len() as u32).to_le_bytes());
        for (alias, target) in aliases {
            put_string(&mut out, alias);
            put_string(&mut out, target);
        }
        out
    }

    pub(crate) fn put_string(out: &mut Vec<u8>, s: &str) {
        out.extend(((s.len() + 1) as u16).to_le_bytes());
        out.extend(s.as_bytes());
        out.push(0);
    }

    pub(crate) fn f32_bytes(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn parse(bytes: Vec<u8>) -> Result<Ct2Model<Cursor<Vec<u8>>>, ConvertError> {
        let len = bytes.len() as u64;
        Ct2Model::from_reader(Cursor::new(bytes), len, PathBuf::from("model.bin"))
    }

    fn sample() -> Vec<u8> {
        let half = |v: f32| half::f16::from_f32(v).to_le_bytes();
        let f16s: Vec<u8> = [1.0, -0.5, 2.0, 0.0, 3.0, 4.0].map(half).concat();
        build(
            6,
            &[
                ("decoder/num_heads", &[], 2, vec![6, 0]),
                ("decoder/embeddings/weight", &[3, 2], 4, f16s),
                ("encoder/conv1/bias", &[2], 0, f32_bytes(&[0.5, -1.0])),
            ],
            &[("decoder/projection/weight", "decoder/embeddings/weight")],
        )
    }

    #[test]
    fn reads_index_aliases_and_data() {
        let mut m = parse(sample()).unwrap();
        assert_eq!(m.shape("decoder/embeddings/weight").unwrap(), &[3, 2]);
        assert_eq!(m.shape("decoder/projection/weight").unwrap(), &[3, 2]);
        assert_eq!(m.read_int("decoder/num_heads").unwrap(), 6);
        let t = m.read_tensor("decoder/embeddings/weight").unwrap();
        assert_eq!(t.data, vec![1.0, -0.5, 2.0, 0.0, 3.0, 4.0]);
        let b = m.read_tensor("encoder/conv1/bias").unwrap();
        assert_eq!((b.shape, b.data), (vec![2], vec![0.5, -1.0]));
        let err = m.read_tensor("encoder/conv2/bias").unwrap_err();
        assert_eq!(err.to_string(), "missing tensor encoder/conv2/bias");
    }

    #[test]
    fn every_truncation_is_an_error_naming_the_end_of_file() {
        let full = sample();
        for cut in 0..full.len() {
            let err = parse(full[..cut].to_vec()).err().unwrap();
            match err {
                ConvertError::Truncated { offset, .. } => assert_eq!(offset, cut as u64),
                other => panic!("cut at {cut}: unexpected {other}"),
            }
        }
        let err = parse(full[..10].to_vec()).err().unwrap();
        assert_eq!(
            err.to_string(),
            "model.bin: truncated at byte 10 while reading model spec name"
        );
        let err = parse(full[..22].to_vec()).err().unwrap();
        assert_eq!(
            err.to_string(),
            "model.bin: truncated at byte 22 while reading variable count"
        );
    }

    #[test]
    fn rejects_other_binary_versions() {
        let err = parse(build(5, &[], &[])).err().unwrap();
        assert_eq!(
            err.to_string(),
            "model.bin: unsupported CTranslate2 binary version 5 (expected 6)"
        );
    }

    #[test]
    fn a_claimed_4_gib_variable_is_refused_without_allocating_it() {
        let mut bytes = build(6, &[("w", &[1], 0, f32_bytes(&[1.0]))], &[]);
        let count_at = bytes.len() - 4 - 4 - 4; // byte count, 4 data bytes, alias count
        bytes[count_at..count_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let err = parse(bytes).err().unwrap();
        let msg = err.to_string();
        assert!(
            msg.contains("data of variable w (4294967295 bytes claimed)"),
            "{msg}"
        );
    }

    #[test]
    fn a_lying_variable_count_hits_the_end_of_file() {
        let mut bytes = build(6, &[], &[]);
        bytes.truncate(bytes.len() - 4); // drop the alias count
        let at = bytes.len() - 4;
        bytes[at..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(parse(bytes), Err(ConvertError::Truncated { .. })));
    }

    #[test]
    fn shape_and_byte_count_must_agree() {
        let bytes = build(6, &[("w", &[2, 2], 0, f32_bytes(&[1.0]))], &[]);
        let msg = parse(bytes).err().unwrap().to_string();
        assert!(msg.contains("does not match its 4 bytes"), "{msg}");
        let huge = build(6, &[("w", &[u32::MAX, u32::MAX, u32::MAX], 0, vec![])], &[]);
        assert!(matches!(parse(huge), Err(ConvertError::Malformed { .. })));
    }

    #[test]
    fn other_specs_and_unknown_dtypes_are_rejected() {
        let mut bytes = 6u32.to_le_bytes().to_vec();
        put_string(&mut bytes, "TransformerSpec");
        let msg = parse(bytes).err().unwrap().to_string();
        assert!(msg.contains("not a Whisper model"), "{msg}");
        let bytes = build(6, &[("w", &[1], 9, vec![0])], &[]);
        let msg = parse(bytes).err().unwrap().to_string();
        assert!(msg.contains("unknown dtype id 9"), "{msg}");
    }

    #[test]
    fn int8_weights_get_a_clear_error() {
        let bytes = build(6, &[("encoder/conv1/weight", &[2], 1, vec![1, 2])], &[]);
        let err = parse(bytes).unwrap().read_tensor("encoder/conv1/weight");
        let msg = err.unwrap_err().to_string();
        assert!(msg.contains("int8-quantized CTranslate2 model"), "{msg}");
    }
}
