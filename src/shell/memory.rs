//! Giving freed heap back to the system after a big answer. A `SENTINEL MASTERS` answer
//! about thousands of masters is parsed into many small allocations that are freed once
//! the core has taken it in; glibc keeps such freed memory in its arenas, so resident
//! memory would stay at the peak of the largest answer ever read.

/// Answers about at least this many masters are followed by a trim: below it, what is
/// freed is too little to matter.
pub const TRIM_AFTER_MASTERS: usize = 1_000;

/// Returns the heap's free memory to the system, where the allocator can (glibc).
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory at the allocator's boundaries; it
    // touches no live allocation and may be called from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Keeps allocations of at least this many bytes out of the heap: each is mapped on its
/// own and given back whole when freed. glibc would otherwise raise its threshold after
/// the first big buffer is freed (a config text, an answer's list of entries) and carve
/// later ones from the heap, where they pin fragments of it.
const OWN_MAPPING_FROM: i32 = 128 * 1024;

/// Sets the allocator up for a long-running daemon: big buffers mapped on their own
/// (see [`OWN_MAPPING_FROM`]), and one arena for every thread, as the few threads tpc
/// runs never contend and each extra arena keeps freed memory of its own.
pub fn set_up() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's tuning; it is called before the
    // runtime starts any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, OWN_MAPPING_FROM);
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
