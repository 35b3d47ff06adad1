;;; contextd-test.el --- ERT tests of contextd.el against the real server  -*- lexical-binding: t; -*-

;; Run: CONTEXTD=/path/to/contextd emacs --batch -Q -L editors/emacs \
;;        -l editors/emacs/test/contextd-test.el -f ert-run-tests-batch-and-exit
;; Only `read-string' and `completing-read' (the UI edge) are scripted.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'contextd)

(defvar contextd-test--server (getenv "CONTEXTD"))
(defvar contextd-test--answers nil "Queue of scripted answers for prompts.")
(defvar contextd-test--prompts nil "Prompts seen, newest first: (PROMPT . INITIAL).")

(defun contextd-test--answer (prompt initial candidates)
  (push (cons prompt initial) contextd-test--prompts)
  (unless contextd-test--answers
    (error "Unexpected prompt: %s" prompt))
  (let ((a (pop contextd-test--answers)))
    (cond ((functionp a) (funcall a prompt initial candidates))
          ((and candidates (stringp a))
           (or (cl-find-if (lambda (c) (string-match-p a c)) candidates)
               (error "No candidate matching %s in %S" a candidates)))
          (t a))))

(defun contextd-test--candidates (collection)
  (let ((all (all-completions "" collection)))
    all))

(defmacro contextd-test--with-ui (answers &rest body)
  "Run BODY with prompts answered from ANSWERS."
  (declare (indent 1))
  `(progn
     (setq contextd-test--answers ,answers)
     (cl-letf (((symbol-function 'read-string)
                (lambda (prompt &optional initial &rest _)
                  (contextd-test--answer prompt initial nil)))
               ((symbol-function 'completing-read)
                (lambda (prompt collection &rest _)
                  (contextd-test--answer prompt nil (contextd-test--candidates collection)))))
       (prog1 (progn ,@body)
         (should (null contextd-test--answers))))))

(defmacro contextd-test--with-server (&rest body)
  "Run BODY against a fresh server on a temporary data directory, in a project dir."
  (declare (indent 0))
  `(let* ((contextd-server-program contextd-test--server)
          (contextd-data-directory (make-temp-file "contextd-emacs-data" t))
          (project (file-name-as-directory (make-temp-file "emacs project" t)))
          (default-directory project)
          (contextd-project-id nil)
          (contextd-mode-line-interval nil)
          (contextd-current-session nil)
          (contextd-last-error nil)
          (contextd--restarts nil))
     (unwind-protect
         (progn ,@body)
       (contextd-shutdown)
       (delete-directory contextd-data-directory t)
       (delete-directory project t))))

(ert-deftest contextd-test-server-binary ()
  (should contextd-test--server)
  (should (file-executable-p contextd-test--server)))

(ert-deftest contextd-test-lifecycle-and-mode-line ()
  (contextd-test--with-server
    (should (equal (contextd-mode-line) " ctx[-]"))
    (contextd-test--with-ui (list "building" "" "Emacs session")
      (call-interactively #'contextd-start-session))
    (should-not contextd-last-error)
    (let ((s contextd-current-session))
      (should (equal (plist-get s :status) "active"))
      (should (equal (plist-get s :mode) "building"))
      (should (string-match-p "\\`emacs-project" (plist-get s :projectId))))
    (should (string-match-p "\\` ctx\\[Emacs session·building·0:0[0-9]\\]\\'" (contextd-mode-line)))
    ;; The minor mode's lighter is that text (`format-mode-line' renders
    ;; nothing under --batch, so evaluate the lighter's :eval form).
    (contextd-mode 1)
    (unwind-protect
        (let ((lighter (cadr (assq 'contextd-mode minor-mode-alist))))
          (should (eq (car lighter) :eval))
          (should (string-match-p "ctx\\[Emacs session·building·0:0[0-9]\\]"
                                  (eval (cadr lighter) t))))
      (contextd-mode -1))
    (sleep-for 1.1)
    (let ((elapsed (contextd-current-elapsed-ms)))
      (should (and (>= elapsed 1000) (< elapsed 2000)))
      (should (string-match-p "·0:01\\]\\'" (contextd-mode-line)))
      ;; A re-fetch agrees with the running count (no double counting).
      (contextd-refresh)
      (let ((refreshed (contextd-current-elapsed-ms)))
        (should (and (>= refreshed elapsed) (< refreshed (+ elapsed 500))))))
    (contextd-pause-session)
    (should (equal (plist-get contextd-current-session :status) "paused"))
    (should (string-match-p " paused\\]\\'" (contextd-mode-line)))
    (let ((frozen (contextd-current-elapsed-ms)))
      (should (>= frozen 1000))
      (sleep-for 0.3)
      (should (= frozen (contextd-current-elapsed-ms))))
    ;; An illegal transition: readable error with code and allowed actions.
    (contextd-pause-session)
    (should (equal (plist-get contextd-last-error :code) 1002))
    (should (string-match-p "\\`contextd error 1002: .*allowed: .*resume" (plist-get contextd-last-error :text)))
    (contextd-resume-session)
    (should (equal (plist-get contextd-current-session :status) "active"))
    (contextd-test--with-ui (list "ran out of coffee")
      (call-interactively #'contextd-fail-session))
    (should (equal (plist-get contextd-current-session :status) "failed"))
    (should (equal (plist-get contextd-current-session :failureReason) "ran out of coffee"))
    (contextd-refresh)
    (should (null contextd-current-session))))

(ert-deftest contextd-test-switch-and-complete ()
  (contextd-test--with-server
    (let ((first (contextd-start-session "planning" "First")))
      (contextd-start-session "testing" "Second")
      ;; exclusive start paused the first (same project)
      (should (equal (plist-get (contextd-request "session/get" (list :id (plist-get first :id))) :status) "paused"))
      (contextd-test--with-ui (list "/ paused / First")
        (contextd-switch-session))
      (should (equal (plist-get contextd-current-session :id) (plist-get first :id)))
      (should (string-match-p "First·planning" (contextd-mode-line)))
      (contextd-complete-session)
      (should (equal (plist-get contextd-current-session :status) "completed")))))

(ert-deftest contextd-test-render-template ()
  (contextd-test--with-server
    (contextd-request "template/create"
                      (list :name "Emacs Greeting" :type "documentation"
                            :content "Hello {{who}} from {{place}}"
                            :variables (vector (list :name "who" :required t :description "Who to greet")
                                               (list :name "place" :required :json-false :default "Paris"))))
    (with-temp-buffer
      (insert "<<>>")
      (goto-char 3)
      (setq contextd-test--prompts nil)
      (contextd-test--with-ui (list "Emacs Greeting" "" "Ada"
                                    (lambda (_p initial _c) initial))
        (call-interactively #'contextd-render-template))
      (should-not contextd-last-error)
      (should (equal (buffer-string) "<<Hello Ada from Paris>>"))
      ;; Prompts: template, who (no default), who again (required), place (default pre-filled)
      (should (equal (cdr (car contextd-test--prompts)) "Paris"))
      (should (null (cdr (nth 2 contextd-test--prompts)))))
    ;; New buffer with a prefix argument.
    (let ((text (contextd-test--with-ui (list "Grace" "Oslo")
                  (contextd-render-template "Emacs Greeting" t))))
      (should (equal text "Hello Grace from Oslo"))
      (should (equal (with-current-buffer "*contextd Emacs Greeting*" (buffer-string)) "Hello Grace from Oslo")))
    ;; Unknown template: readable 1001.
    (contextd-render-template "No Such Template")
    (should (equal (plist-get contextd-last-error :code) 1001))
    (should (string-match-p "\\`contextd error 1001" (plist-get contextd-last-error :text)))))

(ert-deftest contextd-test-send-and-search ()
  (contextd-test--with-server
    (let ((s (contextd-start-session "debugging" "Send test")))
      (with-temp-buffer
        (insert "first line about wombats\nsecond line\n")
        (contextd-send-region (point-min) (point-max))
        (should-not contextd-last-error)
        (let* ((m contextd-last-message)
               (conv (contextd-request "memory/getConversation" (list :id (plist-get m :conversationId)))))
          (should (equal (plist-get m :content) "first line about wombats\nsecond line\n"))
          (should (equal (plist-get m :role) "user"))
          (should (equal (plist-get conv :sessionId) (plist-get s :id)))
          ;; A region, to the same conversation.
          (contextd-send-region 1 6)
          (should (equal (plist-get contextd-last-message :conversationId) (plist-get m :conversationId)))
          (should (equal (length (plist-get (contextd-request "memory/getMessages"
                                                                (list :conversationId (plist-get m :conversationId)))
                                             :messages))
                         2))))
      (contextd-test--with-ui (list "wombats")
        (contextd-search "wombat"))
      (should-not contextd-last-error)
      (let ((buf (cl-find-if (lambda (b) (string-prefix-p "*contextd conversation " (buffer-name b))) (buffer-list))))
        (should buf)
        (with-current-buffer buf
          (should (string-match-p "first line about wombats" (buffer-string)))
          (should (looking-at "first line about wombats")))))
    (contextd-search "nonexistentword")
    (should-not contextd-last-error)))

(ert-deftest contextd-test-restart-after-crash ()
  (contextd-test--with-server
    (let* ((s (contextd-start-session "refactoring" "Crash test"))
           (proc (jsonrpc--process (contextd-connection))))
      (signal-process proc 'SIGKILL)
      (with-timeout (10 (error "server was not restarted"))
        (while (or (process-live-p proc)
                   (not (and contextd--connection (jsonrpc-running-p contextd--connection))))
          (accept-process-output nil 0.05)))
      (should (equal (plist-get (contextd-request "session/get" (list :id (plist-get s :id))) :name) "Crash test")))))

(ert-deftest contextd-test-shutdown-exit-code ()
  (contextd-test--with-server
    (let* ((status nil)
           (contextd-server-exit-hook (list (lambda (st) (setq status st)))))
      (contextd-connection)
      (contextd-shutdown)
      (should (equal status 0)))))

(ert-deftest contextd-test-missing-binary ()
  (let ((contextd-server-program "/nonexistent/contextd")
        (contextd-last-error nil))
    (contextd-refresh)
    (should (string-match-p "cannot start contextd" (plist-get contextd-last-error :text)))
    (setq contextd--connection nil)))

(provide 'contextd-test)
;;; contextd-test.el ends here
