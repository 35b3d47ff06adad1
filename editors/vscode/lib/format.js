'use strict';
// Pure helpers shared by the command logic and the VS Code wiring: elapsed active
// time of a session, durations, project ids, tree grouping. No `vscode`, no I/O.

const MODES = ['planning', 'building', 'testing', 'refactoring', 'debugging', 'deployment'];
const STATUSES = ['active', 'paused', 'idle', 'completed', 'failed'];
const NO_PROJECT = '(no project)';

function parseTime(value) {
  if (!value) return NaN;
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : NaN;
}

/**
 * When the current active stretch of a session began (ms since epoch), or NaN.
 * The server counts `activeMs` for closed stretches; the running stretch began at
 * the last start or resume. A dedicated field wins when the server sends one; else
 * the start time if the session was never paused; else `updatedAt`, which the
 * resume set (the client re-fetches after every change it makes and periodically).
 */
function activeSince(session) {
  for (const key of ['activeSince', 'resumedAt', 'lastResumedAt']) {
    const t = parseTime(session[key]);
    if (Number.isFinite(t)) return t;
  }
  if (!session.lastPausedAt) {
    const t = parseTime(session.startedAt);
    if (Number.isFinite(t)) return t;
  }
  return parseTime(session.updatedAt);
}

/** Time spent active, pauses excluded, as of `now` (ms since epoch). */
function elapsedActiveMs(session, now = Date.now()) {
  if (!session) return 0;
  const base = Number(session.activeMs) || 0;
  if (session.status !== 'active') return base;
  const since = activeSince(session);
  if (!Number.isFinite(since)) return base;
  return base + Math.max(0, now - since);
}

/** "m:ss" under an hour, "h:mm:ss" above. */
function formatDuration(ms) {
  const total = Math.max(0, Math.floor((Number(ms) || 0) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** A session id-safe project id from a folder name: `[A-Za-z0-9._-]{1,128}`. */
function projectIdFromFolder(folderPath) {
  if (!folderPath) return undefined;
  const base = String(folderPath).replace(/[\\/]+$/, '').split(/[\\/]/).pop() || '';
  const id = base.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 128);
  return id || undefined;
}

/** One-line label of a session: "name · mode · status 12:03". */
function sessionLabel(session, now = Date.now()) {
  return `${session.name} · ${session.mode} · ${session.status} ${formatDuration(elapsedActiveMs(session, now))}`;
}

/**
 * Group sessions by project, then by status (in lifecycle order).
 * @returns {{project: string, projectId?: string, statuses: {status: string, sessions: object[]}[]}[]}
 */
function groupSessions(sessions) {
  const projects = new Map();
  for (const s of sessions) {
    const key = s.projectId || NO_PROJECT;
    if (!projects.has(key)) projects.set(key, new Map());
    const byStatus = projects.get(key);
    if (!byStatus.has(s.status)) byStatus.set(s.status, []);
    byStatus.get(s.status).push(s);
  }
  const order = (status) => {
    const i = STATUSES.indexOf(status);
    return i < 0 ? STATUSES.length : i;
  };
  return [...projects.keys()]
    .sort((a, b) => (a === NO_PROJECT) - (b === NO_PROJECT) || a.localeCompare(b))
    .map((project) => ({
      project,
      projectId: project === NO_PROJECT ? undefined : project,
      statuses: [...projects.get(project).entries()]
        .sort((a, b) => order(a[0]) - order(b[0]))
        .map(([status, list]) => ({ status, sessions: list })),
    }));
}

module.exports = {
  MODES,
  STATUSES,
  NO_PROJECT,
  activeSince,
  elapsedActiveMs,
  formatDuration,
  projectIdFromFolder,
  sessionLabel,
  groupSessions,
};
