/* detour server: the error log. One line per call, written with a single
 * write() to a descriptor that SIGUSR1 reopens in place (dup2), so threads
 * need no lock and a rotated file is never written after the reopen. */
#ifndef DETOUR_LOG_H
#define DETOUR_LOG_H

/* Sends the log to path (NULL or "": stderr stays). Call once, at start-up,
 * before other threads exist. */
void log_open(const char *path);

/* SIGUSR1: opens the file again and dup2()s it onto the same descriptor, so
 * no thread ever writes to a closed or reused one. */
void log_reopen(void);

/* Formats one line "TIME detour[PID] LEVEL: message" and writes it. */
void log_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_info(...) log_msg("info", __VA_ARGS__)
#define log_warn(...) log_msg("warn", __VA_ARGS__)
#define log_err(...)  log_msg("error", __VA_ARGS__)

#endif
