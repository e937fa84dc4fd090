"""HTTP APIs: the public protocol (students' browsers) and the organizers' signed API."""
