//! CTranslate2 element types: their on-disk ids, sizes, and decoding of raw bytes to numbers.

use half::{bf16, f16};

/// Element type of a CTranslate2 variable (`ctranslate2::DataType`, stored as a `u8` id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    BF16,
}

impl DType {
    /// Maps CTranslate2's id (FLOAT32 = 0, INT8, INT16, INT32, FLOAT16, BFLOAT16 = 5).
    pub fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            5 => Self::BF16,
            _ => return None,
        })
    }

    pub fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 | Self::BF16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "float32",
            Self::I8 => "int8",
            Self::I16 => "int16",
            Self::I32 => "int32",
            Self::F16 => "float16",
            Self::BF16 => "bfloat16",
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, Self::F32 | Self::F16 | Self::BF16)
    }
}

/// Decodes little-endian floats; `None` for an integer type or a length that is not whole elements.
pub fn decode_floats(dtype: DType, bytes: &[u8]) -> Option<Vec<f32>> {
    if bytes.len() % dtype.size() != 0 {
        return None;
    }
    let out = match dtype {
        DType::F32 => bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        DType::F16 => bytes
            .chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        DType::BF16 => bytes
            .chunks_exact(2)
            .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        DType::I8 | DType::I16 | DType::I32 => return None,
    };
    Some(out)
}

/// Decodes one little-endian integer scalar (settings such as `num_heads`).
pub fn decode_int(dtype: DType, bytes: &[u8]) -> Option<i64> {
    match (dtype, bytes) {
        (DType::I8, [a]) => Some(i64::from(i8::from_le_bytes([*a]))),
        (DType::I16, [a, b]) => Some(i64::from(i16::from_le_bytes([*a, *b]))),
        (DType::I32, [a, b, c, d]) => Some(i64::from(i32::from_le_bytes([*a, *b, *c, *d]))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_unknown_ids_are_rejected() {
        for id in 0..=5 {
            let dtype = DType::from_id(id).unwrap();
            assert!(dtype.size() >= 1);
        }
        assert_eq!(DType::from_id(4), Some(DType::F16));
        assert_eq!(DType::from_id(6), None);
        assert_eq!(DType::from_id(255), None);
    }

    #[test]
    fn decodes_floats_of_each_width() {
        let f32s = [1.5f32.to_le_bytes(), (-2.0f32).to_le_bytes()].concat();
        assert_eq!(decode_floats(DType::F32, &f32s), Some(vec![1.5, -2.0]));
        let f16s = [
            f16::from_f32(0.25).to_le_bytes(),
            f16::from_f32(-3.0).to_le_bytes(),
        ]
        .concat();
        assert_eq!(decode_floats(DType::F16, &f16s), Some(vec![0.25, -3.0]));
        let bf16s = bf16::from_f32(4.0).to_le_bytes();
        assert_eq!(decode_floats(DType::BF16, &bf16s), Some(vec![4.0]));
        assert_eq!(decode_floats(DType::F32, &[0, 0, 0]), None);
        assert_eq!(decode_floats(DType::I8, &[1]), None);
    }

    #[test]
    fn decodes_integer_scalars() {
        assert_eq!(decode_int(DType::I16, &[6, 0]), Some(6));
        assert_eq!(decode_int(DType::I8, &[0xff]), Some(-1));
        assert_eq!(decode_int(DType::I32, &20i32.to_le_bytes()), Some(20));
        assert_eq!(decode_int(DType::I32, &[1, 2]), None);
        assert_eq!(decode_int(DType::F32, &[0, 0, 0, 0]), None);
    }
}
