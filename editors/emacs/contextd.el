;;; contextd.el --- Sessions, conversations and templates from contextd  -*- lexical-binding: t; -*-

;; Author: the contextd project
;; Version: 0.1.0
;; Package-Requires: ((emacs "27.1") (jsonrpc "1.0.9"))
;; Keywords: tools, convenience
;; URL: https://github.com/contextd/contextd

;;; Commentary:

;; contextd keeps work sessions, conversations, long-term memories and
;; templates for editors and AI assistants.  This package starts the
;; `contextd' binary as a child process and talks JSON-RPC 2.0 to it over
;; stdio with Content-Length framing, using Emacs's built-in `jsonrpc.el'.
;;
;; Start with M-x contextd-mode (a global minor mode whose mode-line lighter
;; shows the current session, its mode and active time), then
;; M-x contextd-start-session.  Bind `contextd-command-map' to a prefix:
;;
;;   (global-set-key (kbd "C-c x") contextd-command-map)
;;
;; Commands: `contextd-start-session', `contextd-pause-session',
;; `contextd-resume-session', `contextd-complete-session',
;; `contextd-fail-session', `contextd-switch-session',
;; `contextd-render-template', `contextd-send-region', `contextd-search',
;; `contextd-refresh', `contextd-restart-server', `contextd-shutdown'.

;;; Code:

(require 'cl-lib)
(require 'jsonrpc)
(require 'subr-x)
(require 'seq)
(require 'url-util)

;;;; Customization

(defgroup contextd nil
  "Sessions, conversations and templates from the contextd server."
  :group 'tools
  :prefix "contextd-")

(defcustom contextd-server-program "contextd"
  "The contextd binary (looked up on `exec-path' when not absolute)."
  :type 'string)

(defcustom contextd-server-args nil
  "Extra arguments for contextd, e.g. (\"--store\" \"memory\")."
  :type '(repeat string))

(defcustom contextd-data-directory nil
  "Data directory passed as --data-dir; nil uses the server's default."
  :type '(choice (const :tag "Server default" nil) directory))

(defcustom contextd-project-id nil
  "Project id for new sessions: a string, a function returning one, or nil.
nil uses the name of the project root (`project-current') or of
`default-directory', reduced to the characters A-Z a-z 0-9 . _ -."
  :type '(choice (const :tag "From the directory" nil) string function))

(defcustom contextd-exclusive-start t
  "When non-nil, starting a session pauses the project's other active sessions."
  :type 'boolean)

(defcustom contextd-request-timeout 30
  "Seconds to wait for a reply."
  :type 'integer)

(defcustom contextd-max-restarts 5
  "Restarts allowed within a minute when the server dies unexpectedly."
  :type 'integer)

(defcustom contextd-mode-line-interval 1
  "Seconds between mode-line updates while a session is active (nil: never)."
  :type '(choice (const nil) number))

(defcustom contextd-refetch-interval 60
  "Seconds between re-fetches of the current session from the server."
  :type 'number)

(defcustom contextd-events-buffer-size 100000
  "Size of the *contextd events* buffer (0 disables it, nil is unbounded)."
  :type '(choice (const nil) integer))

;;;; State

(defvar contextd--connection nil "The live `jsonrpc-process-connection', if any.")
(defvar contextd--stopping nil "Non-nil while an orderly stop is in progress.")
(defvar contextd--restarts nil "Times of recent unexpected restarts.")
(defvar contextd--timer nil "Mode-line refresh timer.")
(defvar contextd--last-fetch 0 "When the current session was received (float seconds).")
(defvar contextd--last-refetch 0 "When the timer last asked for the current session.")

(defvar contextd-current-session nil
  "The session (a plist as the server returned it) commands act on.")

(defvar contextd-last-error nil
  "The last error shown, a plist (:code :message :data :text).")

(defvar contextd-last-message nil
  "The last message sent with `contextd-send-region'.")

(defvar contextd-server-exit-hook nil
  "Functions called with the exit status when the server process ends.")

(define-error 'contextd-error "contextd error")

(defconst contextd-modes
  '("planning" "building" "testing" "refactoring" "debugging" "deployment"))

;;;; Helpers

(defun contextd--format-error (code message data)
  "Readable one-line text for an error CODE, MESSAGE and DATA (a plist).
Details from DATA are added unless MESSAGE already says them."
  (let* ((text (format "contextd error %s: %s" code message))
         (lower (downcase (format "%s" message)))
         (has (lambda (&rest values)
                (cl-every (lambda (v) (string-match-p (regexp-quote (downcase (format "%s" v))) lower))
                          values)))
         (details nil))
    (when (and data (listp data))
      (let ((allowed (plist-get data :allowed))
            (missing (plist-get data :missing))
            (kind (plist-get data :kind)) (id (plist-get data :id))
            (field (plist-get data :field)) (reason (plist-get data :reason))
            (path (plist-get data :path)) (limit (plist-get data :limit)))
        (when (and (vectorp allowed) (not (funcall has (mapconcat #'identity allowed ", "))))
          (push (format "allowed: %s" (if (> (length allowed) 0) (mapconcat #'identity allowed ", ") "none"))
                details))
        (when (and (vectorp missing) (not (apply has (append missing nil))))
          (push (format "missing: %s" (mapconcat #'identity missing ", ")) details))
        (when (and kind id (not (funcall has id)))
          (push (format "%s %s" kind id) details))
        (when (and field (not (funcall has field)))
          (push (format "field %s%s" field
                        (if (plist-get data :expected)
                            (format " (expected %s)" (plist-get data :expected))
                          ""))
                details))
        (when (and reason (not (funcall has reason))) (push (format "%s" reason) details))
        (when (and path (not (funcall has path))) (push (format "path %s" path) details))
        (when (and limit (not (funcall has limit))) (push (format "limit %s" limit) details))))
    (if details
        (format "%s (%s)" text (mapconcat #'identity (nreverse details) "; "))
      text)))

(defun contextd--report (err)
  "Show ERR (a `contextd-error' or any error) readably and remember it."
  (let ((text (if (eq (car err) 'contextd-error)
                  (nth 1 err)
                (error-message-string err))))
    (setq contextd-last-error
          (if (eq (car err) 'contextd-error)
              (list :code (nth 2 err) :message (nth 3 err) :data (nth 4 err) :text text)
            (list :text text)))
    (message "%s" (propertize text 'face 'error))
    nil))

(defmacro contextd--command (&rest body)
  "Run BODY, showing any server error readably instead of raising it."
  (declare (indent 0) (debug t))
  `(condition-case err
       (progn ,@body)
     (quit (message "contextd: cancelled") nil)
     (contextd-error (contextd--report err))
     (error (contextd--report err))))

(defun contextd--obj (x)
  "X as a JSON object: an empty hash table when X is nil."
  (or x (make-hash-table :test #'equal)))

;; The server reports `activeMs' as of its reply, the running stretch
;; included, so while a session is active the client adds the time since
;; it received the session (re-fetched after each change and periodically).

(defun contextd--now-ms ()
  (* 1000.0 (float-time)))

(defun contextd-elapsed-ms (s &optional now fetched)
  "Active time of session S in ms as of NOW, pauses excluded.
NOW and FETCHED (when S was received) are ms since the epoch; FETCHED
defaults to NOW."
  (if (null s)
      0
    (let ((base (or (plist-get s :activeMs) 0)))
      (if (not (equal (plist-get s :status) "active"))
          base
        (let ((now (or now (contextd--now-ms))))
          (+ base (max 0 (- now (or fetched now)))))))))

(defun contextd-current-elapsed-ms ()
  "Active time of the current session now, in ms."
  (contextd-elapsed-ms contextd-current-session (contextd--now-ms)
                       (* 1000.0 contextd--last-fetch)))

(defun contextd-format-duration (ms)
  "MS as m:ss, or h:mm:ss from an hour."
  (let* ((total (max 0 (floor (/ (or ms 0) 1000.0))))
         (h (/ total 3600)) (m (/ (% total 3600) 60)) (sec (% total 60)))
    (if (> h 0)
        (format "%d:%02d:%02d" h m sec)
      (format "%d:%02d" m sec))))

(defun contextd--root ()
  "The workspace root: the current project's root, else `default-directory'."
  (expand-file-name
   (or (and (fboundp 'project-current)
            (let ((pr (ignore-errors (project-current))))
              (and pr (if (fboundp 'project-root)
                          (project-root pr)
                        (car (with-no-warnings (project-roots pr)))))))
       default-directory)))

(defun contextd-project-id ()
  "The project id for new sessions (see `contextd-project-id')."
  (let ((p (if (functionp contextd-project-id)
               (funcall contextd-project-id)
             contextd-project-id)))
    (if (and p (not (string-empty-p p)))
        p
      (let* ((base (file-name-nondirectory (directory-file-name (contextd--root))))
             (id (replace-regexp-in-string "[^A-Za-z0-9._-]+" "-" base))
             (id (replace-regexp-in-string "\\`-+\\|-+\\'" "" id)))
        (unless (string-empty-p id)
          (substring id 0 (min 128 (length id))))))))

;;;; Connection

(defun contextd--file-uri (dir)
  "The file:// URI of directory DIR, percent-encoded."
  (concat "file://" (url-hexify-string (directory-file-name (expand-file-name dir))
                                       url-path-allowed-chars)))

(defun contextd--command-line ()
  (append (list contextd-server-program)
          contextd-server-args
          (when (and contextd-data-directory (not (string-empty-p contextd-data-directory)))
            (list "--data-dir" (expand-file-name contextd-data-directory)))))

(defun contextd--on-notification (_conn method params)
  "Follow `session/didChange' for the current session."
  (when (and (eq method 'session/didChange) contextd-current-session)
    (let ((s (plist-get params :session)))
      (when (equal (plist-get s :id) (plist-get contextd-current-session :id))
        (setq contextd-current-session
              (if (equal (plist-get params :event) "deleted") nil s)
              contextd--last-fetch (float-time))
        (force-mode-line-update t)))))

(defun contextd--on-shutdown (conn)
  "Called when CONN's process ends: restart unless we stopped it."
  (let* ((proc (jsonrpc--process conn))
         (status (process-exit-status proc)))
    (run-hook-with-args 'contextd-server-exit-hook status)
    (when (eq conn contextd--connection)
      (setq contextd--connection nil)
      (unless contextd--stopping
        (let ((now (float-time)))
          (setq contextd--restarts (cl-remove-if (lambda (t0) (> (- now t0) 60)) contextd--restarts))
          (if (>= (length contextd--restarts) contextd-max-restarts)
              (message "contextd keeps exiting (status %s); not restarting it. See *contextd stderr*." status)
            (push now contextd--restarts)
            (message "contextd exited (status %s); restarting" status)
            (run-at-time 0.2 nil
                         (lambda ()
                           (unless (or contextd--stopping contextd--connection)
                             (contextd--command (contextd-connection)))))))))))

(defun contextd-connection ()
  "The live connection, starting the server and initializing it if needed."
  (if (and contextd--connection (jsonrpc-running-p contextd--connection))
      contextd--connection
    (setq contextd--stopping nil)
    (let* ((default-directory (contextd--root))
           (root default-directory)
           (command (contextd--command-line))
           (_ (unless (executable-find (car command))
                (signal 'contextd-error
                        (list (format "cannot start contextd (%s): program not found; set `contextd-server-program'"
                                      (car command))
                              -32097 "cannot start contextd" nil))))
           (conn
            (condition-case err
                (make-instance
                 'jsonrpc-process-connection
                 :name "contextd"
                 :events-buffer-scrollback-size contextd-events-buffer-size
                 :notification-dispatcher #'contextd--on-notification
                 :on-shutdown #'contextd--on-shutdown
                 :process (lambda ()
                            (make-process
                             :name "contextd"
                             :command command
                             :connection-type 'pipe
                             :coding 'utf-8-emacs-unix
                             :noquery t
                             :stderr (get-buffer-create "*contextd stderr*"))))
              (error
               (signal 'contextd-error
                       (list (format "cannot start contextd (%s): %s"
                                     (car command) (error-message-string err))
                             -32097 "cannot start contextd" nil))))))
      (setq contextd--connection conn)
      (contextd--call conn "initialize"
                      (list :processId (emacs-pid)
                            :rootUri (contextd--file-uri root)
                            :workspaceFolders (vector (list :uri (contextd--file-uri root)
                                                            :name (file-name-nondirectory (directory-file-name root))))
                            :clientInfo (list :name "contextd.el" :version "0.1.0")
                            :capabilities (contextd--obj nil)))
      (jsonrpc-notify conn 'initialized (contextd--obj nil))
      (ignore-errors (contextd--call conn "events/subscribe" (list :topics ["session"])))
      conn)))

(defun contextd--call (conn method params)
  "Request METHOD with PARAMS on CONN; signal `contextd-error' on failure."
  (condition-case err
      (jsonrpc-request conn (intern method) params :timeout contextd-request-timeout)
    (jsonrpc-error
     (let* ((alist (cdr err))
            (code (or (alist-get 'jsonrpc-error-code alist) -32603))
            (msg (or (alist-get 'jsonrpc-error-message alist) "request failed"))
            (data (alist-get 'jsonrpc-error-data alist)))
       (when (equal code -1) ;; jsonrpc.el's "Server died"
         (setq code -32099 msg (format "contextd exited before answering %s" method)))
       (signal 'contextd-error (list (contextd--format-error code msg data) code msg data))))))

(defun contextd-request (method &optional params)
  "Send METHOD (e.g. \"session/get\") with PARAMS (a plist); return the result.
Signals `contextd-error' with (TEXT CODE MESSAGE DATA) on failure."
  (contextd--call (contextd-connection) method (contextd--obj params)))

(defun contextd-shutdown ()
  "Stop the server in order: `shutdown', `exit', wait for the process."
  (interactive)
  (let ((conn contextd--connection))
    (setq contextd--stopping t)
    (when (and conn (jsonrpc-running-p conn))
      (ignore-errors (contextd--call conn "shutdown" nil))
      (ignore-errors (jsonrpc-notify conn 'exit nil))
      (let ((proc (jsonrpc--process conn)))
        (with-timeout (3 (ignore-errors (delete-process proc)))
          (while (process-live-p proc)
            (accept-process-output proc 0.05)))
        ;; Let the sentinel run.
        (accept-process-output nil 0.05)))
    (setq contextd--connection nil)))

(defun contextd-restart-server ()
  "Stop and start the server."
  (interactive)
  (contextd--command
    (contextd-shutdown)
    (contextd-connection)
    (contextd-refresh)
    (message "contextd restarted")))

;;;; Mode line

(defun contextd-mode-line ()
  "Mode-line text: \" ctx[name·mode·12:03]\", with the status when not active."
  (let ((s contextd-current-session))
    (if (not s)
        " ctx[-]"
      (format " ctx[%s·%s·%s%s]"
              (plist-get s :name) (plist-get s :mode)
              (contextd-format-duration (contextd-current-elapsed-ms))
              (if (equal (plist-get s :status) "active") ""
                (concat " " (plist-get s :status)))))))

(defun contextd--tick ()
  (when contextd-current-session
    (when (and contextd-refetch-interval contextd--connection
               (> (- (float-time) (max contextd--last-fetch contextd--last-refetch))
                  contextd-refetch-interval))
      (setq contextd--last-refetch (float-time))
      (contextd--command (contextd-refresh)))
    (when (equal (plist-get contextd-current-session :status) "active")
      (force-mode-line-update t))))

(defun contextd--set-current (s)
  (setq contextd-current-session s
        contextd--last-fetch (float-time))
  (force-mode-line-update t)
  s)

;;;; Sessions

(defun contextd-refresh ()
  "Re-fetch the current session; fall back to the project's active one."
  (interactive)
  (contextd--command
    (let* ((cur contextd-current-session)
           (s (when cur
                (condition-case err
                    (contextd-request "session/get" (list :id (plist-get cur :id)))
                  (contextd-error (unless (equal (nth 2 err) 1001) (signal (car err) (cdr err))) nil)))))
      (if (and s (member (plist-get s :status) '("idle" "active" "paused")))
          (contextd--set-current s)
        (let* ((params (append (list :status "active" :limit 1)
                               (let ((p (contextd-project-id))) (and p (list :projectId p)))))
               (res (contextd-request "session/list" params)))
          (contextd--set-current (and (> (length (plist-get res :sessions)) 0)
                                      (aref (plist-get res :sessions) 0))))))))

(defun contextd--read-mode ()
  (let* ((res (condition-case nil (contextd-request "session/modes") (contextd-error nil)))
         (modes (if res
                    (mapcar (lambda (m) (cons (plist-get m :mode) (plist-get m :description)))
                            (plist-get res :modes))
                  (mapcar #'list contextd-modes)))
         (completion-extra-properties
          (list :annotation-function
                (lambda (c) (let ((d (cdr (assoc c modes)))) (if d (concat "  " d) ""))))))
    (completing-read "Session mode: " modes nil t)))

(defun contextd--read-nonempty (prompt &optional initial)
  (let ((text ""))
    (while (string-empty-p (string-trim text))
      (setq text (read-string prompt initial))
      (setq initial nil)
      (when (string-empty-p (string-trim text))
        (message "A value is required")))
    (string-trim text)))

;;;###autoload
(defun contextd-start-session (mode name)
  "Create a session with MODE and NAME in the current project and start it."
  (interactive (list (contextd--read-mode) (contextd--read-nonempty "Session name: ")))
  (contextd--command
    (let* ((params (append (list :name name :mode mode)
                           (let ((p (contextd-project-id))) (and p (list :projectId p)))))
           (created (contextd-request "session/create" params))
           (started (contextd-request "session/start"
                                      (list :id (plist-get created :id)
                                            :exclusive (if contextd-exclusive-start t :json-false)))))
      (contextd--set-current started)
      (contextd--ensure-timer)
      (message "contextd: started \"%s\" (%s)" (plist-get started :name) (plist-get started :mode))
      started)))

(defun contextd--current-or-pick ()
  (or contextd-current-session
      (progn (contextd-refresh) contextd-current-session)
      (contextd--pick-session)
      (user-error "No contextd session")))

(defun contextd--transition (method &rest extra)
  (contextd--command
    (let ((s (contextd--current-or-pick)))
      (contextd--set-current
       (contextd-request method (append (list :id (plist-get s :id)) extra))))))

(defun contextd-pause-session ()
  "Pause the current session."
  (interactive)
  (contextd--transition "session/pause"))

(defun contextd-resume-session ()
  "Resume the current session."
  (interactive)
  (contextd--transition "session/resume"))

(defun contextd-complete-session ()
  "Complete the current session."
  (interactive)
  (let ((s (contextd--transition "session/complete")))
    (when s
      (message "contextd: completed \"%s\" after %s" (plist-get s :name)
               (contextd-format-duration (plist-get s :activeMs))))
    s))

(defun contextd-fail-session (reason)
  "Fail the current session with REASON."
  (interactive (list (contextd--read-nonempty "Why did the session fail? ")))
  (contextd--transition "session/fail" :reason reason))

(defun contextd-list-sessions (&optional filter)
  "All sessions matching FILTER (plist of session/list params), following cursors."
  (let ((all nil) (cursor nil) (pages 0))
    (while (progn
             (let ((res (contextd-request "session/list"
                                          (append (list :limit 200)
                                                  (and cursor (list :cursor cursor))
                                                  filter))))
               (setq all (append all (append (plist-get res :sessions) nil))
                     cursor (plist-get res :nextCursor)
                     pages (1+ pages)))
             (and cursor (< pages 50))))
    all))

(defconst contextd--status-order '("active" "paused" "idle" "completed" "failed"))

(defun contextd--session-candidate (s now)
  (format "%s / %s / %s [%s] %s"
          (or (plist-get s :projectId) "(no project)")
          (plist-get s :status) (plist-get s :name) (plist-get s :mode)
          (contextd-format-duration (contextd-elapsed-ms s now))))

(defun contextd--pick-session ()
  (let* ((now (contextd--now-ms))
         (sessions (sort (contextd-list-sessions)
                         (lambda (a b)
                           (let ((pa (or (plist-get a :projectId) "~"))
                                 (pb (or (plist-get b :projectId) "~")))
                             (if (not (equal pa pb)) (string< pa pb)
                               (< (or (cl-position (plist-get a :status) contextd--status-order :test #'equal) 9)
                                  (or (cl-position (plist-get b :status) contextd--status-order :test #'equal) 9)))))))
         (table (mapcar (lambda (s) (cons (contextd--session-candidate s now) s)) sessions)))
    (if (null table)
        (progn (message "contextd: no sessions yet") nil)
      (let* ((choice (completing-read "Session (project / status / name): "
                                      (lambda (str pred action)
                                        (if (eq action 'metadata)
                                            '(metadata (display-sort-function . identity)
                                                       (category . contextd-session))
                                          (complete-with-action action table str pred)))
                                      nil t))
             (s (cdr (assoc choice table))))
        (when s
          (contextd--set-current (contextd-request "session/get" (list :id (plist-get s :id)))))))))

(defun contextd-switch-session ()
  "Pick a session by project and status and make it the current one."
  (interactive)
  (contextd--command (contextd--pick-session)))

;;;; Templates

(defun contextd--default-text (v)
  (cond ((stringp v) v)
        ((vectorp v) (mapconcat (lambda (x) (format "%s" x)) v ", "))
        ((null v) "")
        ((eq v :json-false) "false")
        ((eq v t) "true")
        ((numberp v) (number-to-string v))
        (t (json-serialize v :false-object :json-false :null-object nil))))

(defun contextd--convert (text type)
  "TEXT as the JSON value a variable of TYPE expects."
  (pcase (downcase (or type ""))
    ((or "number" "integer")
     (if (string-match-p "\\`[-+]?[0-9]*\\.?[0-9]+\\(?:[eE][-+]?[0-9]+\\)?\\'" (string-trim text))
         (string-to-number text) text))
    ((or "boolean" "bool")
     (if (string-match-p "\\`\\(?:true\\|yes\\|y\\|1\\|on\\)\\'" (downcase (string-trim text))) t :json-false))
    ((or "array" "list")
     (vconcat (cl-remove-if #'string-empty-p (mapcar #'string-trim (split-string text "[,\n]")))))
    ((or "object" "json")
     (condition-case nil (json-parse-string text :object-type 'hash-table) (error text)))
    (_ text)))

(defun contextd--read-variables (template)
  "Prompt for each declared variable of TEMPLATE; return a hash table."
  (let ((values (make-hash-table :test #'equal)))
    (seq-doseq (v (plist-get template :variables))
      (let* ((name (plist-get v :name))
             (default (plist-get v :default))
             (has-default (and default t))
             (must (and (eq (plist-get v :required) t) (not has-default)))
             (desc (plist-get v :description))
             (prompt (format "%s%s%s: " name
                             (if (and desc (not (string-empty-p desc))) (format " (%s)" desc) "")
                             (if must " [required]" "")))
             (text (read-string prompt (and has-default (contextd--default-text default)))))
        (while (and must (string-empty-p (string-trim text)))
          (message "contextd: %s is required" name)
          (setq text (read-string prompt)))
        (unless (and (string-empty-p text) (not must))
          (puthash name (contextd--convert text (plist-get v :type)) values))))
    values))

(defun contextd--read-template ()
  (let* ((res (contextd-request "template/list"))
         (templates (append (plist-get res :templates) nil))
         (table (mapcar (lambda (tp) (cons (plist-get tp :name) tp)) templates))
         (completion-extra-properties
          (list :annotation-function
                (lambda (c)
                  (let ((tp (cdr (assoc c table))))
                    (format "  %s  %s" (plist-get tp :type) (or (plist-get tp :description) "")))))))
    (unless table (user-error "No templates"))
    (cdr (assoc (completing-read "Template: " table nil t) table))))

;;;###autoload
(defun contextd-render-template (&optional name new-buffer)
  "Render template NAME (picked when nil), prompting for its variables.
Insert the text at point, or with a prefix argument (NEW-BUFFER) in a new
buffer.  Returns the text."
  (interactive (list nil current-prefix-arg))
  (contextd--command
    (let* ((template (if name
                         (contextd-request "template/get" (list :name name))
                       (contextd--read-template)))
           (values (contextd--read-variables template))
           (res (contextd-request "template/render"
                                  (list :id (plist-get template :id) :variables values)))
           (text (plist-get res :text)))
      (if new-buffer
          (let ((buf (generate-new-buffer (format "*contextd %s*" (plist-get template :name)))))
            (with-current-buffer buf
              (insert text)
              (goto-char (point-min))
              (when (and (not (equal (plist-get template :type) "code")) (fboundp 'markdown-mode))
                (markdown-mode)))
            (pop-to-buffer buf))
        (insert text))
      text)))

;;;; Conversations

(defun contextd--conversation-for (session)
  (let* ((res (contextd-request "memory/listConversations" (list :sessionId (plist-get session :id) :limit 1)))
         (convs (plist-get res :conversations)))
    (if (> (length convs) 0)
        (aref convs 0)
      (contextd-request "memory/createConversation"
                        (list :title (plist-get session :name) :sessionId (plist-get session :id))))))

(defun contextd-send-text (text)
  "Send TEXT as a user message to the current session's conversation."
  (contextd--command
    (when (string-empty-p (string-trim text))
      (user-error "contextd: nothing to send"))
    (let* ((session (contextd--current-or-pick))
           (conv (contextd--conversation-for session))
           (res (contextd-request "memory/addMessage"
                                  (list :conversationId (plist-get conv :id) :role "user" :content text)))
           (msg (plist-get res :message))
           (trimmed (plist-get res :trimmed)))
      (setq contextd-last-message msg)
      (message "contextd: sent %s tokens to \"%s\"%s" (plist-get msg :tokens) (plist-get conv :title)
               (if (> (length trimmed) 0) (format " (%d older trimmed)" (length trimmed)) ""))
      res)))

;;;###autoload
(defun contextd-send-region (beg end)
  "Send the region BEG..END (default: the buffer) to the session's conversation."
  (interactive (if (use-region-p)
                   (list (region-beginning) (region-end))
                 (list (point-min) (point-max))))
  (contextd-send-text (buffer-substring-no-properties beg end)))

;;;###autoload
(defun contextd-search (query)
  "Search conversation history for QUERY; open the chosen hit's conversation."
  (interactive (list (contextd--read-nonempty "Search history: ")))
  (contextd--command
    (let* ((res (contextd-request "memory/search" (list :query query :limit 50)))
           (hits (append (plist-get res :hits) nil)))
      (if (null hits)
          (progn (message "contextd: no messages match \"%s\"" query) nil)
        (let* ((i 0)
               (table (mapcar (lambda (h)
                                (setq i (1+ i))
                                (let* ((m (plist-get h :message))
                                       (snippet (replace-regexp-in-string
                                                 "[ \t\n]+" " " (or (plist-get h :snippet) (plist-get m :content) ""))))
                                  (cons (format "%d. [%s] %s" i (plist-get m :role) snippet) h)))
                              hits))
               (choice (completing-read (format "%d hit(s): " (length hits))
                                        (lambda (str pred action)
                                          (if (eq action 'metadata)
                                              '(metadata (display-sort-function . identity))
                                            (complete-with-action action table str pred)))
                                        nil t))
               (hit (cdr (assoc choice table)))
               (conv-id (plist-get hit :conversationId))
               (out (contextd-request "memory/toText" (list :conversationId conv-id)))
               (text (if (stringp out) out (plist-get out :text)))
               (buf (get-buffer-create (format "*contextd conversation %s*" conv-id))))
          (with-current-buffer buf
            (let ((inhibit-read-only t))
              (erase-buffer)
              (insert text)
              (goto-char (point-min))
              (let ((first (car (split-string (or (plist-get (plist-get hit :message) :content) "") "\n"))))
                (when (and first (not (string-empty-p first)))
                  (when (search-forward first nil t)
                    (goto-char (match-beginning 0)))))
              (special-mode)))
          (pop-to-buffer buf)
          hit)))))

;;;; Minor mode

(defvar contextd-command-map
  (let ((map (make-sparse-keymap)))
    (define-key map "s" #'contextd-start-session)
    (define-key map "p" #'contextd-pause-session)
    (define-key map "r" #'contextd-resume-session)
    (define-key map "c" #'contextd-complete-session)
    (define-key map "f" #'contextd-fail-session)
    (define-key map "b" #'contextd-switch-session)
    (define-key map "t" #'contextd-render-template)
    (define-key map "m" #'contextd-send-region)
    (define-key map "/" #'contextd-search)
    (define-key map "g" #'contextd-refresh)
    map)
  "Keymap of contextd commands; bind it to a prefix of your choice.")
(fset 'contextd-command-map contextd-command-map)

(defun contextd--ensure-timer ()
  (when (and contextd-mode-line-interval (not contextd--timer))
    (setq contextd--timer (run-at-time contextd-mode-line-interval contextd-mode-line-interval
                                       #'contextd--tick))))

;;;###autoload
(define-minor-mode contextd-mode
  "Show the current contextd session in the mode line and keep it up to date."
  :global t
  :group 'contextd
  :lighter (:eval (contextd-mode-line))
  (if contextd-mode
      (progn
        (contextd--ensure-timer)
        (add-hook 'kill-emacs-hook #'contextd-shutdown)
        (contextd-refresh))
    (when contextd--timer
      (cancel-timer contextd--timer)
      (setq contextd--timer nil))))

(add-hook 'kill-emacs-hook #'contextd-shutdown)

(provide 'contextd)
;;; contextd.el ends here
