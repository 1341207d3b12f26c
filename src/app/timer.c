/* timer.c: the per-call wall-clock deadline (enclos_app_limits.timeout_ms).
 *
 * One watchdog thread per process keeps a list of armed runners. It sleeps until the earliest
 * deadline and calls enclos_wasm_store_interrupt() on every runner whose deadline has passed;
 * the engine stops the call at its next fuel check (function entry or loop header). A runner
 * past its deadline is interrupted again on every wake-up until it is disarmed, because the
 * engine clears the flag when a new top-level call starts (an app call may make several:
 * cabi_realloc, then the export).
 *
 * Arming costs a mutex and a list insert (no allocation, no syscall) unless the new deadline is
 * earlier than the watchdog's next wake-up, which then needs a condition-variable signal. When
 * no call is armed the watchdog wakes once a second, so a steady stream of calls with the same
 * timeout never signals it.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include <enclos/log.h>

#include "app_int.h"

#define TIMER_IDLE_NS 1000000000ull

static pthread_mutex_t t_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t t_cond;
static app_runner *t_head;
static bool t_started;
static uint64_t t_wake = UINT64_MAX; /* when the watchdog will next look */

static void *watchdog(void *arg) {
  (void)arg;
  pthread_mutex_lock(&t_lock);
  for (;;) {
    uint64_t now = app__now_ns(), next = now + TIMER_IDLE_NS;
    for (app_runner *r = t_head; r; r = r->tnext) {
      if (r->deadline_ns <= now) enclos_wasm_store_interrupt(r->store);
      else if (r->deadline_ns < next) next = r->deadline_ns;
    }
    /* A runner past its deadline is re-interrupted every millisecond until disarmed. */
    for (app_runner *r = t_head; r; r = r->tnext)
      if (r->deadline_ns <= now && now + 1000000ull < next) next = now + 1000000ull;
    t_wake = next;
    struct timespec ts = {(time_t)(next / 1000000000ull), (long)(next % 1000000000ull)};
    int e = pthread_cond_timedwait(&t_cond, &t_lock, &ts);
    (void)e;
  }
  return NULL;
}

static void after_fork_child(void) {
  /* The watchdog thread does not survive fork(); the child starts its own on first use. */
  pthread_mutex_init(&t_lock, NULL);
  t_head = NULL;
  t_started = false;
  t_wake = UINT64_MAX;
}

static bool start_locked(void) {
  static bool atfork_done;
  if (t_started) return true;
  if (!atfork_done) {
    if (pthread_atfork(NULL, NULL, after_fork_child) != 0) return false;
    atfork_done = true;
  }
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* app__now_ns is CLOCK_MONOTONIC */
  pthread_cond_init(&t_cond, &ca);
  pthread_condattr_destroy(&ca);
  pthread_t th;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  int e = pthread_create(&th, &attr, watchdog, NULL);
  pthread_attr_destroy(&attr);
  if (e != 0) return false;
  t_started = true;
  return true;
}

void app__timer_arm(app_runner *r, uint32_t timeout_ms) {
  uint64_t deadline = app__now_ns() + (uint64_t)timeout_ms * 1000000ull;
  pthread_mutex_lock(&t_lock);
  if (!start_locked()) {
    pthread_mutex_unlock(&t_lock);
    /* Without a watchdog the deadline is still checked between the wasm calls of an app call
     * (app__run), but a running loop cannot be stopped: say so loudly. */
    ENCLOS_ERROR_LOG("app", "cannot start the deadline watchdog thread: timeouts not enforced");
    r->deadline_ns = deadline;
    return;
  }
  r->deadline_ns = deadline;
  r->tprev = NULL;
  r->tnext = t_head;
  if (t_head) t_head->tprev = r;
  t_head = r;
  if (deadline < t_wake) pthread_cond_signal(&t_cond);
  pthread_mutex_unlock(&t_lock);
}

void app__timer_disarm(app_runner *r) {
  if (!r->deadline_ns) return;
  pthread_mutex_lock(&t_lock);
  bool linked = r->tprev || t_head == r;
  if (linked) {
    if (r->tprev) r->tprev->tnext = r->tnext;
    else t_head = r->tnext;
    if (r->tnext) r->tnext->tprev = r->tprev;
  }
  r->tnext = r->tprev = NULL;
  r->deadline_ns = 0;
  pthread_mutex_unlock(&t_lock);
}
