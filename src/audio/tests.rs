//! End-to-end tests of `decode_file`: the speech corpus, generated formats, and bad input.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::*;

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.join("jfk.wav").is_file() {
        return Some(dir);
    }
    println!("skipped: no speech corpus at {}", dir.display());
    None
}

fn tool(name: &str) -> bool {
    let found = Command::new(name).arg("-version").output().is_ok();
    if !found {
        println!("skipped: `{name}` is not installed");
    }
    found
}

fn run(cmd: &mut Command) -> bool {
    let out = cmd.output().expect("spawn");
    if !out.status.success() {
        println!("{:?} failed: {}", cmd, String::from_utf8_lossy(&out.stderr));
    }
    out.status.success()
}

fn ffmpeg_make(args: &[&str], out: &Path) -> bool {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(out);
    run(cmd.stdin(std::process::Stdio::null()))
}

fn no_ffmpeg() -> DecodeOptions {
    DecodeOptions {
        allow_ffmpeg: false,
        ..DecodeOptions::default()
    }
}

fn seconds(samples: &[f32]) -> f64 {
    samples.len() as f64 / f64::from(SAMPLE_RATE)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    let mean = |x: &[f32]| x[..n].iter().map(|v| f64::from(*v)).sum::<f64>() / n as f64;
    let (ma, mb) = (mean(a), mean(b));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a[..n].iter().zip(&b[..n]) {
        let (x, y) = (f64::from(*x) - ma, f64::from(*y) - mb);
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    sab / (saa * sbb).sqrt()
}

/// A 16-bit mono PCM WAV header whose RIFF and data sizes are given explicitly.
fn wav_header(rate: u32, riff_len: u32, data_len: u32) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&riff_len.to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // PCM
    h.extend_from_slice(&1u16.to_le_bytes()); // mono
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&(rate * 2).to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&16u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_len.to_le_bytes());
    h
}

fn tone_pcm16(rate: u32, seconds: f64) -> Vec<u8> {
    let n = (seconds * f64::from(rate)) as usize;
    (0..n)
        .flat_map(|i| {
            let v = (2.0 * std::f64::consts::PI * 440.0 * i as f64 / f64::from(rate)).sin();
            ((v * 10_000.0) as i16).to_le_bytes()
        })
        .collect()
}

/// Peak resident memory of this process in KiB (Linux), for allocation sanity checks.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn corpus_wavs_and_mp3_decode_with_right_duration() {
    let Some(dir) = corpus() else { return };
    let expected = [
        ("jfk.wav", 11.0),
        ("jfk.mp3", 11.0),
        ("ldc93s1-16k-mono.wav", 2.9),
        ("ldc93s1-8k-mono.wav", 2.9),
        ("ldc93s1-44k-stereo.wav", 2.9),
        ("new-home-in-the-stars-16k.wav", 3.6),
        ("arctic_a0024.wav", 4.0),
    ];
    for (name, want) in expected {
        let started = Instant::now();
        let samples = decode_file(&dir.join(name), &no_ffmpeg()).unwrap();
        let took = started.elapsed();
        let got = seconds(&samples);
        println!(
            "{name}: {got:.3} s decoded in {:.1} ms",
            took.as_secs_f64() * 1e3
        );
        assert!(
            (got - want).abs() < 0.1,
            "{name}: {got} s, expected {want} s"
        );
        let peak = samples.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(peak > 0.05 && peak <= 1.0, "{name}: peak {peak}");
    }
}

#[test]
fn resampled_and_downmixed_corpus_matches_16k_version() {
    let Some(dir) = corpus() else { return };
    let reference = decode_file(&dir.join("ldc93s1-16k-mono.wav"), &no_ffmpeg()).unwrap();
    for name in ["ldc93s1-8k-mono.wav", "ldc93s1-44k-stereo.wav"] {
        let other = decode_file(&dir.join(name), &no_ffmpeg()).unwrap();
        let len_diff = (other.len() as f64 - reference.len() as f64).abs();
        assert!(
            len_diff <= reference.len() as f64 * 0.01,
            "{name}: {} vs {}",
            other.len(),
            reference.len()
        );
        let r = correlation(&reference, &other);
        println!("{name} vs 16k: correlation {r:.4}");
        // The 8 kHz version lacks everything above 4 kHz, so it matches less closely.
        assert!(r > 0.9, "{name}: correlation {r}");
    }
}

#[test]
fn mp3_matches_wav() {
    let Some(dir) = corpus() else { return };
    let wav = decode_file(&dir.join("jfk.wav"), &no_ffmpeg()).unwrap();
    let mp3 = decode_file(&dir.join("jfk.mp3"), &no_ffmpeg()).unwrap();
    let r = correlation(&wav, &mp3);
    println!(
        "jfk.mp3 vs jfk.wav: correlation {r:.4}, {} vs {} samples",
        mp3.len(),
        wav.len()
    );
    assert!((mp3.len() as f64 - wav.len() as f64).abs() < wav.len() as f64 * 0.01);
}

#[test]
fn flac_and_vorbis_made_by_sox_match_the_wav() {
    let Some(dir) = corpus() else { return };
    if !tool("sox") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for (source, rate) in [("jfk.wav", 16_000), ("ldc93s1-44k-stereo.wav", 44_100)] {
        let wav = decode_file(&dir.join(source), &no_ffmpeg()).unwrap();
        for ext in ["flac", "ogg"] {
            let out = tmp.path().join(format!("{source}.{ext}"));
            if !run(Command::new("sox").arg(dir.join(source)).arg(&out)) {
                println!("skipped: sox cannot write .{ext}");
                continue;
            }
            let started = Instant::now();
            let decoded = decode_file(&out, &no_ffmpeg()).unwrap();
            let r = correlation(&wav, &decoded);
            println!(
                "{source} ({rate} Hz) as .{ext}: {} samples, correlation {r:.4}, {:.1} ms",
                decoded.len(),
                started.elapsed().as_secs_f64() * 1e3
            );
            let diff = (decoded.len() as f64 - wav.len() as f64).abs();
            assert!(
                diff <= wav.len() as f64 * 0.01,
                "{ext}: {} vs {}",
                decoded.len(),
                wav.len()
            );
            assert!(r > 0.99, "{source} as .{ext}: correlation {r}");
        }
    }
}

#[test]
fn aac_in_mp4_and_vorbis_in_webm_with_video_use_the_audio_track() {
    let Some(dir) = corpus() else { return };
    if !tool("ffmpeg") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let jfk = dir.join("jfk.wav");
    let jfk = jfk.to_str().unwrap();
    let video = "testsrc=duration=11:size=64x64:rate=5";
    let cases: [(&str, &[&str]); 3] = [
        ("m4a", &["-i", jfk, "-c:a", "aac"]),
        (
            "mp4",
            &[
                "-f",
                "lavfi",
                "-i",
                video,
                "-i",
                jfk,
                "-c:v",
                "mpeg4",
                "-c:a",
                "aac",
                "-shortest",
            ],
        ),
        (
            "mkv",
            &[
                "-f",
                "lavfi",
                "-i",
                video,
                "-i",
                jfk,
                "-c:v",
                "mpeg4",
                "-c:a",
                "libvorbis",
            ],
        ),
    ];
    for (ext, args) in cases {
        let out = tmp.path().join(format!("jfk.{ext}"));
        if !ffmpeg_make(args, &out) {
            println!("skipped: ffmpeg cannot make .{ext}");
            continue;
        }
        let samples = decode_file(&out, &no_ffmpeg());
        let samples = samples.unwrap_or_else(|e| panic!(".{ext}: {e}"));
        println!("jfk.{ext}: {:.3} s", seconds(&samples));
        assert!(
            (seconds(&samples) - 11.0).abs() < 0.2,
            ".{ext}: {} s",
            seconds(&samples)
        );
    }
}

#[test]
fn opus_needs_ffmpeg_and_says_so() {
    let Some(dir) = corpus() else { return };
    if !tool("ffmpeg") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for ext in ["opus", "webm"] {
        let out = tmp.path().join(format!("jfk.{ext}"));
        if !ffmpeg_make(
            &[
                "-i",
                dir.join("jfk.wav").to_str().unwrap(),
                "-c:a",
                "libopus",
            ],
            &out,
        ) {
            println!("skipped: ffmpeg cannot encode opus");
            return;
        }
        let started = Instant::now();
        let samples = decode_file(&out, &DecodeOptions::default()).unwrap();
        println!(
            "jfk.{ext} via ffmpeg: {:.3} s in {:.1} ms",
            seconds(&samples),
            started.elapsed().as_secs_f64() * 1e3
        );
        assert!(
            (seconds(&samples) - 11.0).abs() < 0.1,
            "{} s",
            seconds(&samples)
        );
        let wav = decode_file(&dir.join("jfk.wav"), &no_ffmpeg()).unwrap();
        assert!(correlation(&wav, &samples) > 0.95);

        let err = decode_file(&out, &no_ffmpeg()).unwrap_err();
        let msg = err.to_string();
        println!("jfk.{ext} without ffmpeg: {msg}");
        assert!(msg.starts_with("unsupported format: opus audio"), "{msg}");
        assert!(msg.contains("ffmpeg"), "{msg}");
        assert!(!err.is_transient());
    }
}

#[test]
fn ffmpeg_fallback_respects_max_duration() {
    let Some(dir) = corpus() else { return };
    if !tool("ffmpeg") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("jfk.opus");
    if !ffmpeg_make(
        &[
            "-i",
            dir.join("jfk.wav").to_str().unwrap(),
            "-c:a",
            "libopus",
        ],
        &out,
    ) {
        return;
    }
    let opts = DecodeOptions {
        max_duration_seconds: Some(5.0),
        allow_ffmpeg: true,
    };
    let err = decode_file(&out, &opts).unwrap_err();
    assert!(matches!(err, AudioError::TooLong { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "too long: more than 5 s exceeds max_duration_seconds 5 s"
    );
}

#[test]
fn empty_file() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "empty.wav", b"");
    let err = decode_file(&path, &DecodeOptions::default()).unwrap_err();
    assert!(matches!(err, AudioError::Empty));
    assert_eq!(err.to_string(), "empty file");
}

#[test]
fn random_bytes_named_wav() {
    let tmp = tempfile::tempdir().unwrap();
    // A fixed xorshift stream: reproducible "random" bytes.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let bytes: Vec<u8> = (0..200_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let path = write(tmp.path(), "noise.wav", &bytes);
    for opts in [no_ffmpeg(), DecodeOptions::default()] {
        let err = decode_file(&path, &opts).unwrap_err();
        println!("random .wav (ffmpeg {}): {err}", opts.allow_ffmpeg);
        assert!(
            matches!(
                err,
                AudioError::Unsupported { .. } | AudioError::Corrupt { .. }
            ),
            "{err:?}"
        );
        assert!(!err.is_transient());
    }
}

#[test]
fn text_named_mp3() {
    let tmp = tempfile::tempdir().unwrap();
    let text = "This is not audio, just a text file with a misleading name.\n".repeat(50);
    let path = write(tmp.path(), "notes.mp3", text.as_bytes());
    for opts in [no_ffmpeg(), DecodeOptions::default()] {
        let err = decode_file(&path, &opts).unwrap_err();
        let msg = err.to_string();
        println!("text .mp3 (ffmpeg {}): {msg}", opts.allow_ffmpeg);
        assert!(
            msg.starts_with("unsupported format: unrecognised .mp3 file"),
            "{msg}"
        );
    }
}

#[test]
fn truncated_mp3_never_panics() {
    let Some(dir) = corpus() else { return };
    let full = std::fs::read(dir.join("jfk.mp3")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cuts = [
        1,
        10,
        64,
        200,
        417,
        1000,
        4_000,
        10_000,
        30_001,
        50_000,
        full.len() - 1,
    ];
    for cut in cuts {
        let path = write(tmp.path(), &format!("cut{cut}.mp3"), &full[..cut]);
        match decode_file(&path, &no_ffmpeg()) {
            Ok(samples) => {
                println!("cut at {cut}: ok, {:.2} s", seconds(&samples));
                assert!(seconds(&samples) <= 11.1);
            }
            Err(err) => {
                println!("cut at {cut}: {err}");
                assert!(
                    matches!(
                        err,
                        AudioError::Corrupt { .. } | AudioError::Unsupported { .. }
                    ),
                    "{err:?}"
                );
            }
        }
    }
    // Cut in the middle of the audio: the part before the cut survives.
    let path = write(tmp.path(), "half.mp3", &full[..full.len() / 2]);
    let samples = decode_file(&path, &no_ffmpeg()).unwrap();
    assert!(
        (seconds(&samples) - 5.5).abs() < 1.0,
        "{} s",
        seconds(&samples)
    );
}

#[test]
fn garbage_inside_mp3_is_skipped_or_reported() {
    let Some(dir) = corpus() else { return };
    let mut bytes = std::fs::read(dir.join("jfk.mp3")).unwrap();
    let mid = bytes.len() / 2;
    for (i, b) in bytes[mid..mid + 3000].iter_mut().enumerate() {
        *b = (i * 7919 % 251) as u8;
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "damaged.mp3", &bytes);
    match decode_file(&path, &no_ffmpeg()) {
        Ok(samples) => assert!(seconds(&samples) > 5.0 && seconds(&samples) < 11.2),
        Err(err) => assert!(matches!(err, AudioError::Corrupt { .. }), "{err:?}"),
    }
}

#[test]
fn wav_header_claiming_4_gib_decodes_the_real_second() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = wav_header(16_000, u32::MAX, u32::MAX - 64);
    bytes.extend(tone_pcm16(16_000, 1.0));
    let path = write(tmp.path(), "huge-claim.wav", &bytes);
    let before = peak_rss_kib();
    let samples = decode_file(&path, &DecodeOptions::default()).unwrap();
    assert!(
        (seconds(&samples) - 1.0).abs() < 0.1,
        "{} s",
        seconds(&samples)
    );
    if let (Some(before), Some(after)) = (before, peak_rss_kib()) {
        println!("peak RSS {before} KiB -> {after} KiB");
        assert!(
            after < before + 512 * 1024,
            "grew by {} KiB",
            after - before
        );
    }
    // The same claim at 44.1 kHz goes through the resampler.
    let mut bytes = wav_header(44_100, u32::MAX, u32::MAX - 64);
    bytes.extend(tone_pcm16(44_100, 1.0));
    let path = write(tmp.path(), "huge-claim-44k.wav", &bytes);
    let samples = decode_file(&path, &DecodeOptions::default()).unwrap();
    assert!(
        (seconds(&samples) - 1.0).abs() < 0.1,
        "{} s",
        seconds(&samples)
    );
}

#[test]
fn wav_with_empty_data_chunk_is_empty_audio() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "silent.wav", &wav_header(16_000, 36, 0));
    let samples = decode_file(&path, &DecodeOptions::default()).unwrap();
    assert!(samples.is_empty());
}

#[test]
fn max_duration_exceeded() {
    let Some(dir) = corpus() else { return };
    let opts = DecodeOptions {
        max_duration_seconds: Some(5.0),
        allow_ffmpeg: false,
    };
    for name in ["jfk.wav", "jfk.mp3"] {
        let err = decode_file(&dir.join(name), &opts).unwrap_err();
        let msg = err.to_string();
        println!("{name}: {msg}");
        assert!(matches!(err, AudioError::TooLong { .. }), "{msg}");
        assert!(msg.starts_with("too long: "), "{msg}");
        assert!(msg.ends_with("exceeds max_duration_seconds 5 s"), "{msg}");
    }
    let err = decode_file(&dir.join("jfk.wav"), &opts).unwrap_err();
    assert_eq!(
        err.to_string(),
        "too long: 11 s exceeds max_duration_seconds 5 s"
    );
    // Exactly at the limit is fine.
    let opts = DecodeOptions {
        max_duration_seconds: Some(11.0),
        allow_ffmpeg: false,
    };
    let samples = decode_file(&dir.join("jfk.wav"), &opts).unwrap();
    assert_eq!(samples.len(), 176_000);
}

#[test]
fn long_wav_without_credible_header_stops_at_the_limit() {
    // A header claiming 4 GiB (13.5 h at 44.1 kHz), 3 s of real data, a 2 s limit: the claim
    // is not believed (the file is too small), so decoding runs and stops once past 2 s.
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = wav_header(44_100, u32::MAX, u32::MAX - 64);
    bytes.extend(tone_pcm16(44_100, 3.0));
    let path = write(tmp.path(), "long.wav", &bytes);
    let opts = DecodeOptions {
        max_duration_seconds: Some(2.0),
        allow_ffmpeg: false,
    };
    let err = decode_file(&path, &opts).unwrap_err();
    assert_eq!(
        err.to_string(),
        "too long: more than 2 s exceeds max_duration_seconds 2 s"
    );
}

#[test]
fn fifo_is_refused_without_blocking() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("pipe.wav");
    let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let (tx, rx) = mpsc::channel();
    let fifo = path.clone();
    std::thread::spawn(move || {
        let _ = tx.send(decode_file(&fifo, &DecodeOptions::default()));
    });
    let result = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("decode_file blocked on a FIFO");
    let err = result.unwrap_err();
    println!("fifo: {err}");
    assert!(matches!(err, AudioError::NotRegularFile { .. }));
    assert!(err.to_string().contains("FIFO"), "{err}");
}

#[test]
fn video_without_audio_track() {
    if !tool("ffmpeg") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for (ext, codec) in [("mp4", "mpeg4"), ("mkv", "mpeg4")] {
        let out = tmp.path().join(format!("video-only.{ext}"));
        let video = "testsrc=duration=1:size=64x64:rate=10";
        if !ffmpeg_make(&["-f", "lavfi", "-i", video, "-c:v", codec], &out) {
            println!("skipped: ffmpeg cannot make a video-only .{ext}");
            continue;
        }
        for opts in [no_ffmpeg(), DecodeOptions::default()] {
            let err = decode_file(&out, &opts).unwrap_err();
            println!(".{ext} without audio (ffmpeg {}): {err}", opts.allow_ffmpeg);
            assert!(matches!(err, AudioError::NoAudioTrack), "{err:?}");
            assert_eq!(err.to_string(), "no audio track");
        }
    }
}

#[test]
fn missing_file_names_the_path() {
    let err = decode_file(Path::new("/nonexistent/x.wav"), &DecodeOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot read /nonexistent/x.wav: "),
        "{err}"
    );
}

#[test]
fn wav_list_chunk_claiming_4_gib_is_refused_before_symphonia_allocates_it() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = wav_header(16_000, u32::MAX, 0);
    bytes.truncate(36); // up to the end of the fmt chunk
    bytes.extend_from_slice(b"LIST");
    bytes.extend_from_slice(&(u32::MAX - 100).to_le_bytes());
    bytes.extend_from_slice(b"INFOINAM");
    bytes.extend_from_slice(&(u32::MAX - 200).to_le_bytes());
    bytes.extend_from_slice(b"title\0");
    bytes.extend(tone_pcm16(16_000, 1.0));
    let path = write(tmp.path(), "huge-list.wav", &bytes);
    let err = decode_file(&path, &no_ffmpeg()).unwrap_err();
    println!("huge LIST chunk: {err}");
    assert!(matches!(err, AudioError::Corrupt { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("corrupt data at byte offset 36: "),
        "{err}"
    );
}

/// Rough decode speed on a long file: `cargo test --lib audio::tests::speed -- --ignored --nocapture`.
#[test]
#[ignore = "slow: generates and decodes 10 minutes of 44.1 kHz stereo audio"]
fn speed_of_long_44k_stereo() {
    let Some(dir) = corpus() else { return };
    if !tool("sox") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let long_wav = tmp.path().join("long.wav");
    let source = dir.join("ldc93s1-44k-stereo.wav");
    let mut sox = Command::new("sox");
    sox.args((0..205).map(|_| source.as_os_str()))
        .arg(&long_wav);
    assert!(run(&mut sox));
    for ext in ["wav", "flac", "mp3"] {
        let path = tmp.path().join(format!("long.{ext}"));
        if ext != "wav" && !run(Command::new("sox").arg(&long_wav).arg(&path)) {
            continue;
        }
        let started = Instant::now();
        let samples = decode_file(&path, &no_ffmpeg()).unwrap();
        let took = started.elapsed().as_secs_f64();
        let secs = seconds(&samples);
        println!(
            "{ext}: {secs:.0} s of 44.1 kHz stereo in {took:.2} s ({:.0}x real time)",
            secs / took
        );
    }
}
