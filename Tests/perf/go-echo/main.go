// go-echo — a JSON-RPC 2.0 server over stdio with github.com/sourcegraph/jsonrpc2 and
// VSCodeObjectCodec (Content-Length framing): the Go peer of contextd's comparison
// (issue 11). It answers `ping` with {} and any other method with its params, so
// session/get-like and 1 MiB requests can be compared. Arguments are ignored.
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o go-echo ./Tests/perf/go-echo
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/sourcegraph/jsonrpc2"
)

// stdio joins stdin and stdout into the io.ReadWriteCloser the stream wants.
type stdio struct{}

func (stdio) Read(p []byte) (int, error)  { return os.Stdin.Read(p) }
func (stdio) Write(p []byte) (int, error) { return os.Stdout.Write(p) }
func (stdio) Close() error {
	os.Stdin.Close()
	return os.Stdout.Close()
}

func handle(_ context.Context, _ *jsonrpc2.Conn, req *jsonrpc2.Request) (interface{}, error) {
	if req.Method == "ping" {
		return struct{}{}, nil
	}
	if req.Params == nil {
		return json.RawMessage("null"), nil
	}
	return req.Params, nil
}

func main() {
	stream := jsonrpc2.NewBufferedStream(stdio{}, jsonrpc2.VSCodeObjectCodec{})
	conn := jsonrpc2.NewConn(context.Background(), stream, jsonrpc2.HandlerWithError(handle))
	<-conn.DisconnectNotify()
}
