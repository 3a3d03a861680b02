//! `voiceflowd transcribe` and `model import` end to end on the real corpus.

use crate::harness::*;
use std::path::Path;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(300);

fn transcribe(files: &[&Path], out_dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = voiceflowd();
    cmd.arg("transcribe").arg("--model").arg(model());
    cmd.arg("--output-dir").arg(out_dir).args(extra).args(files);
    run_with_timeout(cmd, TIMEOUT)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn corpus_transcribes_within_wer_limits() {
    let _lock = whisper_lock();
    let out_dir = tempfile::tempdir().unwrap();
    let refs = references();
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".wav") || n.ends_with(".mp3"))
        .collect();
    names.sort();
    let files: Vec<_> = names.iter().map(|n| corpus(n)).collect();
    let paths: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let started = Instant::now();
    let out = transcribe(&paths, out_dir.path(), &[]);
    let wall = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", dump(&out, out_dir.path()));
    let mut audio = 0.0;
    let stem_of = |name: &str| {
        Path::new(name)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    for name in &names {
        // Inputs sharing a stem (jfk.wav, jfk.mp3) keep their extension in the output name.
        let shared = names.iter().filter(|n| stem_of(n) == stem_of(name)).count() > 1;
        let stem = if shared { name.clone() } else { stem_of(name) };
        let json: serde_json::Value =
            serde_json::from_str(&read(&out_dir.path().join(format!("{stem}.json")))).unwrap();
        audio += json["duration_seconds"].as_f64().unwrap();
        let text = json["text"].as_str().unwrap().to_string();
        match refs.get(name) {
            Some(reference) => {
                let w = wer(reference, &text);
                let limit = wer_limit(name);
                eprintln!("WER {name}: {:.1}% ({text})", w * 100.0);
                assert!(
                    w <= limit,
                    "{name}: WER {w:.3} > {limit}: {text:?} vs {reference:?}"
                );
            }
            None => assert!(!text.trim().is_empty(), "{name}: empty transcript"),
        }
    }
    eprintln!(
        "corpus: {audio:.1} s audio in {wall:.2} s wall = {:.1}x realtime",
        audio / wall
    );
}

#[test]
fn outputs_are_well_formed() {
    let _lock = whisper_lock();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("talk.mp3");
    std::fs::copy(corpus("jfk.mp3"), &input).unwrap();
    let mut cmd = voiceflowd();
    cmd.args(["transcribe", "--formats", "txt,srt,vtt,json", "--model"])
        .arg(model())
        .arg(&input);
    let out = run_with_timeout(cmd, TIMEOUT);
    assert!(out.status.success(), "{}", dump(&out, dir.path()));
    // Outputs land beside the input by default.
    let srt = read(&dir.path().join("talk.srt"));
    assert!(srt.starts_with("1\n00:00:00,000 --> 00:00:"), "{srt}");
    let vtt = read(&dir.path().join("talk.vtt"));
    assert!(
        vtt.starts_with("WEBVTT\n\n1\n00:00:00.000 --> 00:00:"),
        "{vtt}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&read(&dir.path().join("talk.json"))).unwrap();
    assert_eq!(json["model"], "tiny.en");
    assert_eq!(json["language"], "en");
    let duration = json["duration_seconds"].as_f64().unwrap();
    assert!((duration - 11.0).abs() < 0.1, "duration {duration}");
    let segments = json["segments"].as_array().unwrap();
    assert!(!segments.is_empty());
    for s in segments {
        let (a, b) = (s["start"].as_f64().unwrap(), s["end"].as_f64().unwrap());
        assert!(0.0 <= a && a <= b && b <= duration + 0.01, "{s}");
    }
    let txt = read(&dir.path().join("talk.txt"));
    assert_eq!(txt.lines().count(), segments.len());
    assert!(
        listing(dir.path()).lines().all(|l| !l.contains("tmp")),
        "{}",
        listing(dir.path())
    );
}

#[test]
fn flac_and_ogg_transcribe_like_the_wav() {
    let _lock = whisper_lock();
    let dir = tempfile::tempdir().unwrap();
    let wav = corpus("jfk.wav");
    let flac = dir.path().join("jfk-flac.flac");
    let ogg = dir.path().join("jfk-vorbis.ogg");
    tool("sox", &[wav.to_str().unwrap(), flac.to_str().unwrap()]);
    tool("sox", &[wav.to_str().unwrap(), ogg.to_str().unwrap()]);
    let out = transcribe(&[&wav, &flac, &ogg], dir.path(), &["--formats", "txt"]);
    assert!(out.status.success(), "{}", dump(&out, dir.path()));
    let wav_text = read(&dir.path().join("jfk.txt"));
    assert!(
        wer(&references()["jfk.wav"], &wav_text) <= 0.05,
        "{wav_text}"
    );
    let ogg_text = read(&dir.path().join("jfk-vorbis.txt"));
    assert!(
        wer(&wav_text, &ogg_text) <= 0.05,
        "ogg {ogg_text:?} vs wav {wav_text:?}"
    );
    let flac_text = read(&dir.path().join("jfk-flac.txt"));
    assert_eq!(flac_text, wav_text);
}

#[test]
fn silence_and_tiny_clips_give_empty_transcripts_and_succeed() {
    let _lock = whisper_lock();
    let dir = tempfile::tempdir().unwrap();
    let silence = dir.path().join("silence.wav");
    let blip = dir.path().join("blip.wav");
    let hiss = dir.path().join("hiss.wav");
    let s = silence.to_str().unwrap();
    tool(
        "sox",
        &[
            "-n", "-r", "16000", "-c", "1", "-b", "16", s, "trim", "0", "10",
        ],
    );
    let b = blip.to_str().unwrap();
    tool(
        "sox",
        &[
            "-n", "-r", "16000", "-c", "1", "-b", "16", b, "synth", "0.05", "sine", "440",
        ],
    );
    // Near-silence with faint noise goes through whisper, which says [BLANK_AUDIO].
    let h = hiss.to_str().unwrap();
    tool(
        "sox",
        &[
            "-n",
            "-r",
            "16000",
            "-c",
            "1",
            "-b",
            "16",
            h,
            "synth",
            "5",
            "whitenoise",
            "vol",
            "0.001",
        ],
    );
    let out = transcribe(&[&silence, &blip, &hiss], dir.path(), &[]);
    assert!(out.status.success(), "{}", dump(&out, dir.path()));
    for stem in ["silence", "blip", "hiss"] {
        assert_eq!(read(&dir.path().join(format!("{stem}.txt"))), "", "{stem}");
        let json: serde_json::Value =
            serde_json::from_str(&read(&dir.path().join(format!("{stem}.json")))).unwrap();
        assert_eq!(
            json["segments"].as_array().unwrap().len(),
            0,
            "{stem}: {json}"
        );
    }
}

#[test]
fn bad_inputs_fail_clearly_and_the_rest_still_transcribes() {
    let _lock = whisper_lock();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("empty.wav"), b"").unwrap();
    let noise: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(d.join("random.wav"), noise).unwrap();
    std::fs::write(
        d.join("notes.mp3"),
        "just some text, not audio\n".repeat(100),
    )
    .unwrap();
    let (empty, random, text, good) = (
        d.join("empty.wav"),
        d.join("random.wav"),
        d.join("notes.mp3"),
        corpus("ldc93s1-16k-mono.wav"),
    );
    let out = transcribe(&[&empty, &random, &text, &good], d, &["--formats", "txt"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", dump(&out, d));
    assert!(stderr.contains("empty.wav: failed: empty file"), "{stderr}");
    assert!(stderr.contains("random.wav: failed:"), "{stderr}");
    assert!(stderr.contains("notes.mp3: failed:"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let good_text = read(&d.join("ldc93s1-16k-mono.txt"));
    assert!(
        wer(&references()["ldc93s1-16k-mono.wav"], &good_text) <= 0.25,
        "{good_text}"
    );
    assert!(!d.join("empty.txt").exists() && !d.join("random.txt").exists());
}

#[test]
fn bad_model_and_bad_arguments_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = voiceflowd();
    cmd.args(["transcribe", "--model", "/nonexistent/model.bin"])
        .arg(corpus("jfk.wav"));
    let out = run_with_timeout(cmd, TIMEOUT);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("/nonexistent/model.bin"),
        "{}",
        dump(&out, dir.path())
    );

    let mut cmd = voiceflowd();
    cmd.args(["transcribe", "--formats", "txt,docx", "--model"])
        .arg(model())
        .arg(corpus("jfk.wav"));
    let out = run_with_timeout(cmd, TIMEOUT);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("docx"));

    let mut cmd = voiceflowd();
    cmd.args(["model", "import"])
        .arg(dir.path())
        .arg("-o")
        .arg(dir.path().join("m.bin"));
    let out = run_with_timeout(cmd, TIMEOUT);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("model.bin"),
        "{}",
        dump(&out, dir.path())
    );
    assert!(!dir.path().join("m.bin").exists());
}
