#!/usr/bin/env bash
# Put through node 1, get through node 3, for sizes around the chunk boundaries; also put from
# stdin and get to stdout. Every copy must be byte-identical.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

chunk=65536
start_cluster 3 --chunk-size 64KiB

for size in 0 1 $((chunk - 1)) $chunk $((chunk + 1)) $((3 * chunk + 17)); do
  in=$TEST_DIR/in.$size
  out=$TEST_DIR/out.$size
  make_random_file "$in" "$size"
  run_capture dfs_at 1 put "$in" "sizes/$size.bin"
  ((RC == 0)) || fail "put of $size bytes through node 1: $(last_run)"
  run_capture dfs_at 3 get "sizes/$size.bin" "$out"
  ((RC == 0)) || fail "get of $size bytes through node 3: $(last_run)"
  assert_files_equal "$in" "$out"
  log "$size bytes: put via node 1, got via node 3, identical"
done

# Files up to 64 KiB live inside their manifest (no chunks); one byte more is chunked.
for pair in "1 0" "$chunk 0" "$((chunk + 1)) 2"; do
  read -r size chunks <<<"$pair"
  run_capture dfs_at 2 stat "sizes/$size.bin" --json
  ((RC == 0)) || fail "stat of the $size-byte file: $(last_run)"
  assert_eq "$chunks" "$(json_field chunks <"$OUT")" "chunks of a $size-byte file"
done

# The same key read through the other nodes gives the same bytes.
size=$((3 * chunk + 17))
for i in 1 2; do
  run_capture dfs_at "$i" get "sizes/$size.bin" "$TEST_DIR/out.$size.via$i"
  ((RC == 0)) || fail "get of $size bytes through node $i: $(last_run)"
  assert_files_equal "$TEST_DIR/in.$size" "$TEST_DIR/out.$size.via$i"
done

# put - (stdin) and get KEY - (stdout)
make_random_file "$TEST_DIR/in.stdin" $((2 * chunk + 999))
RC=0
dfs_at 1 put - stdin/piped.bin <"$TEST_DIR/in.stdin" >"$OUT" 2>"$ERR" || RC=$?
((RC == 0)) || fail "put - (stdin) through node 1: $(last_run)"
RC=0
dfs_at 3 get stdin/piped.bin - >"$TEST_DIR/out.stdout" 2>"$ERR" || RC=$?
((RC == 0)) || fail "get KEY - (stdout) through node 3: exit $RC; stderr: $(cat "$ERR")"
assert_files_equal "$TEST_DIR/in.stdin" "$TEST_DIR/out.stdout"
log "stdin put and stdout get: identical"

# Small text through a pipe from another command, read back to stdout.
printf 'hello, dfs\n' | dfs_at 2 put - text/hello.txt >/dev/null ||
  fail "put of a piped text through node 2 failed"
got=$(dfs_at 1 get text/hello.txt -) || fail "get text/hello.txt - through node 1 failed"
assert_eq "hello, dfs" "$got" "text read back through node 1"
