'use strict';
// Pure helpers shared by the command logic and the VS Code wiring: elapsed active
// time of a session, durations, project ids, tree grouping. No `vscode`, no I/O.

const MODES = ['planning', 'building', 'testing', 'refactoring', 'debugging', 'deployment'];
const STATUSES = ['active', 'paused', 'idle', 'completed', 'failed'];
const NO_PROJECT = '(no project)';

/**
 * Time spent active, pauses excluded, as of `now` (ms since epoch).
 *
 * The server reports `activeMs` as of its reply, the running stretch included (an
 * active session also carries `activeSince`, when that stretch began). So while the
 * session is active the client adds the time since it received the session
 * (`fetchedAt`); re-fetching (after every change, and periodically) keeps it exact.
 */
function elapsedActiveMs(session, now = Date.now(), fetchedAt = now) {
  if (!session) return 0;
  const base = Number(session.activeMs) || 0;
  if (session.status !== 'active') return base;
  return base + Math.max(0, now - fetchedAt);
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
  elapsedActiveMs,
  formatDuration,
  projectIdFromFolder,
  sessionLabel,
  groupSessions,
};
