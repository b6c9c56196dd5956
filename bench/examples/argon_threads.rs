// Temporary experiment: argon2id throughput with N threads, fresh 19 MiB per hash (as the server does).
use argon2::{Algorithm, Argon2, Params, Version};
use std::time::Instant;
fn ticks() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let r: Vec<u64> = s.rsplit_once(')').map(|x| x.1).unwrap_or("").split_whitespace().filter_map(|v| v.parse().ok()).collect();
    (r.get(10).copied().unwrap_or(0), r.get(11).copied().unwrap_or(0))
}
fn main() {
    let per_thread_total = 128usize;
    for n in [1usize, 2, 16, 64] {
        let (u0, s0) = ticks();
        let t = Instant::now();
        let hs: Vec<_> = (0..n).map(|_| std::thread::spawn(move || {
            let params = Params::new(19 * 1024, 2, 1, Some(32)).ok();
            let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.unwrap_or(Params::DEFAULT));
            let mut out = [0u8; 32];
            for _ in 0..(per_thread_total / n).max(1) {
                let _ = argon.hash_password_into(b"pw", b"saltsaltsaltsalt", &mut out);
            }
        })).collect();
        for h in hs { let _ = h.join(); }
        let el = t.elapsed().as_secs_f64();
        let (u1, s1) = ticks();
        let count = (per_thread_total / n).max(1) * n;
        println!("threads {n:3}: {count} hashes in {el:.2}s = {:.0}/s  user {} ticks sys {} ticks", count as f64 / el, u1 - u0, s1 - s0);
    }
}
