package store

// TaskFile is one attachment of a task: the input field that names it,
// the name it had in the upload, and the stored file. The project package
// stores and reads a task's files; the type is here because the village
// center's local store keeps the files of its leased tasks too, and moves
// with it.
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
