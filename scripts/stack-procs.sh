# Process bookkeeping shared by scripts/realstack and scripts/prodstack (sourced, not run).
# The caller sets S (its state folder) and STACK_MARKER (the name of the environment variable
# every started process carries, set to S), and defines log and die.
# Every daemon runs in its own session with its log and pid file under $S/log and $S/run, so
# stop_all stops exactly these processes, including any they forked.

# /proc/PID/stat fields after the command name: state ppid pgrp session ... starttime (20th).
proc_stat() { # PID -> "session starttime"
  local line rest
  { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
  rest="${line##*) }"
  set -- $rest
  echo "$4 ${20}"
}

# A pid file holds "PID STARTTIME": the process is ours only while both still match, so a
# recycled pid is never mistaken for one of ours.
pidof_proc() { # NAME -> pid if that process runs
  local f="$S/run/$1.pid" pid start st
  [[ -s "$f" ]] || return 1
  read -r pid start <"$f" || true
  st="$(proc_stat "$pid")" || return 1
  [[ "${st#* }" == "$start" ]] || return 1
  echo "$pid"
}

# start NAME CMD...: in its own session (so everything it forks can be found again), log and
# pid under the state folder, with the environment marker.
start() {
  local name="$1" pid st
  shift
  if pidof_proc "$name" >/dev/null; then return 0; fi
  # Its leader died: workers it left behind (holding its port, say) go first.
  [[ -s "$S/run/$name.pid" ]] && kill_session "$S/run/$name.pid"
  log "starting $name"
  mkdir -p "$S/run" "$S/log"
  (
    cd "$S"
    export "$STACK_MARKER=$S"
    exec setsid "$@" >>"$S/log/$name.log" 2>&1 </dev/null
  ) &
  pid=$!
  st="$(proc_stat "$pid")" || st="0 0"
  echo "$pid ${st#* }" >"$S/run/$name.pid"
}

# Every process that is ours: in the session of one of our daemons (services that retitle
# themselves with setproctitle lose their environment block, so the marker alone misses
# them), or carrying the environment marker (epmd, which leaves the session). A session counts
# even when its leader has died (its workers live on), for processes started after the leader.
marked_pids() {
  local dir pid entry f lead lstart st
  local -A leaders=()
  for f in "$S"/run/*.pid; do
    [[ -e "$f" ]] || continue
    read -r lead lstart <"$f" || true
    [[ -n "$lead" && -n "$lstart" ]] && leaders[$lead]=$lstart
  done
  for dir in /proc/[0-9]*; do
    pid="${dir#/proc/}"
    [[ "$pid" == "$$" || "$pid" == "$BASHPID" ]] && continue
    if st="$(proc_stat "$pid")" && [[ -n "${leaders[${st%% *}]:-}" ]] && ((${st#* } >= ${leaders[${st%% *}]})); then
      echo "$pid"
      continue
    fi
    while IFS= read -r -d '' entry; do
      if [[ "$entry" == "$STACK_MARKER=$S" ]]; then
        echo "$pid"
        break
      fi
    done 2>/dev/null <"$dir/environ" || true
  done
}

kill_session() { # PIDFILE: kill what is left of that daemon's session
  local lead lstart dir pid st left=()
  read -r lead lstart <"$1" || true
  [[ -n "$lead" && -n "$lstart" ]] || return 0
  for dir in /proc/[0-9]*; do
    pid="${dir#/proc/}"
    st="$(proc_stat "$pid")" || continue
    [[ "${st%% *}" == "$lead" ]] && ((${st#* } >= lstart)) && left+=("$pid")
  done
  ((${#left[@]})) || return 0
  log "killing ${#left[@]} leftover processes of $(basename "$1" .pid)"
  kill -KILL "${left[@]}" 2>/dev/null || true
  rm -f "$1"
}

any_alive() { local p; for p in "$@"; do [[ -d "/proc/$p" ]] && return 0; done; return 1; }

stop_all() {
  local pids=() i
  mapfile -t pids < <(marked_pids)
  ((${#pids[@]})) || { rm -f "$S"/run/*.pid; return 0; }
  log "stopping ${#pids[@]} processes"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for i in $(seq 1 75); do
    any_alive "${pids[@]}" || break
    sleep 0.2
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  # Anything forked meanwhile.
  mapfile -t pids < <(marked_pids)
  ((${#pids[@]})) && kill -KILL "${pids[@]}" 2>/dev/null || true
  rm -f "$S"/run/*.pid
}

stop_one() {
  local pid
  pid="$(pidof_proc "$1")" || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 75); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$S/run/$1.pid"
}

wait_for() { # WHAT SECONDS CMD...: poll until CMD succeeds
  local what="$1" secs="$2" end
  shift 2
  end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < end)) || die "$what did not come up within ${secs}s (logs: $S/log)"
    sleep 0.3
  done
}
