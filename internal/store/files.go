package store

// TaskFile is project.TaskFile: one attachment of a task, which the
// project package stores and reads. It is declared here because the
// village center's local store (center.go, center_files.go) keeps the
// files of its grants too and cannot import project; it moves to project
// with that store, and scanTaskFile, its scan there, goes with it.
type TaskFile struct {
	Field     string `json:"field"`
	Name      string `json:"name"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	MediaType string `json:"media_type"`
}

func scanTaskFile(r scanner) (TaskFile, error) {
	var f TaskFile
	return f, r.Scan(&f.Field, &f.Name, &f.SHA256, &f.Size, &f.MediaType)
}
