package sesfake

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// LoadOutbox reads the .eml files an earlier run left in the outbox
// directory back into the outbox (oldest first, before anything sent now),
// after deleting all but the newest keep of them, so a long-used dev
// folder neither grows without end nor shows fewer emails on the page than
// it holds on disk. A file that does not parse is left on disk and not
// shown. It returns how many it loaded and deleted.
func (s *Server) LoadOutbox(keep int) (loaded, pruned int, err error) {
	dir := s.o.OutboxDir
	if dir == "" {
		return 0, 0, nil
	}
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	type file struct {
		name string
		mod  int64
	}
	var files []file
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".eml") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		files = append(files, file{e.Name(), info.ModTime().UnixNano()})
	}
	sort.Slice(files, func(i, j int) bool {
		if files[i].mod != files[j].mod {
			return files[i].mod < files[j].mod
		}
		return files[i].name < files[j].name
	})
	if len(files) > keep {
		for _, f := range files[:len(files)-keep] {
			if err := os.Remove(filepath.Join(dir, f.name)); err == nil {
				pruned++
			}
		}
		files = files[len(files)-keep:]
	}
	var old []Message
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		m := Message{MessageID: strings.TrimSuffix(f.name, ".eml"), Raw: raw}
		if err := fillFromRaw(&m, raw); err != nil {
			continue
		}
		if info, err := os.Stat(path); err == nil {
			m.ReceivedAt = info.ModTime()
		}
		old = append(old, m)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(old, s.msgs...)
	s.byID = make(map[string]int, len(s.msgs))
	for i, m := range s.msgs {
		s.byID[m.MessageID] = i
	}
	return len(old), pruned, nil
}
