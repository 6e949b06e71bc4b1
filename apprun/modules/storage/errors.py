"""The storage module's errors, in Supabase Storage's vocabulary.

Each error has Storage's ``code`` (``NoSuchKey``), its legacy ``error`` label and the
*semantic* status the body reports (``statusCode: "404"``). Like Supabase, handled client
errors go out as HTTP 400 (``status``), except where upstream sends a real status (403 on
role-gated routes, 416, 429, 500). ``tus_status`` is the real status the tus routes answer.
"""

from __future__ import annotations

from typing import ClassVar

from apprun.core.errors import AppError


class StorageError(AppError):
    status = 400
    code = "storage.InvalidRequest"
    message = "The request is not valid."
    semantic_status: ClassVar[int] = 400
    label: ClassVar[str | None] = None
    """Storage's legacy ``error`` field; None = the storage code itself."""

    @property
    def storage_code(self) -> str:
        return self.code.removeprefix("storage.")

    @property
    def error_label(self) -> str:
        return self.label or self.storage_code

    @property
    def tus_status(self) -> int:
        return self.semantic_status


class InvalidRequest(StorageError):
    pass


class NoContent(InvalidRequest):
    message = "No content provided"


class MissingAuthorization(InvalidRequest):
    message = "headers must have required property 'authorization'"


class InvalidParameter(StorageError):
    code = "storage.InvalidParameter"
    message = "Invalid Parameter"


class NoSuchBucket(StorageError):
    code = "storage.NoSuchBucket"
    message = "Bucket not found"
    semantic_status = 404
    label = "Bucket not found"


class NoSuchKey(StorageError):
    code = "storage.NoSuchKey"
    message = "Object not found"
    semantic_status = 404
    label = "not_found"


class NoSuchUpload(StorageError):
    code = "storage.NoSuchUpload"
    message = "The file for this url was not found"
    semantic_status = 404
    label = "not_found"


class KeyAlreadyExists(StorageError):
    code = "storage.KeyAlreadyExists"
    message = "The resource already exists"
    semantic_status = 409
    label = "Duplicate"


class BucketAlreadyExists(StorageError):
    code = "storage.BucketAlreadyExists"
    message = "The resource already exists"
    semantic_status = 409
    label = "Duplicate"


class ResourceAlreadyExists(StorageError):
    code = "storage.ResourceAlreadyExists"
    message = "The resource already exists"
    semantic_status = 409
    label = "Duplicate"


class ResourceNotEmpty(StorageError):
    code = "storage.ResourceNotEmpty"
    message = "The bucket you tried to delete is not empty"
    semantic_status = 409


class InvalidBucketName(StorageError):
    code = "storage.InvalidBucketName"
    message = "Bucket name invalid"
    label = "Invalid Input"


class InvalidKey(StorageError):
    code = "storage.InvalidKey"
    message = "Invalid key"


class InvalidMimeType(StorageError):
    code = "storage.InvalidMimeType"
    message = "mime type is not supported"
    semantic_status = 415
    label = "invalid_mime_type"


class EntityTooLarge(StorageError):
    code = "storage.EntityTooLarge"
    message = "The object exceeded the maximum allowed size"
    semantic_status = 413
    label = "Payload too large"


class QuotaExceeded(StorageError):
    code = "storage.QuotaExceeded"
    message = "The project's storage quota is exhausted"
    semantic_status = 413
    label = "Payload too large"


class AccessDenied(StorageError):
    code = "storage.AccessDenied"
    message = "new row violates row-level security policy"
    semantic_status = 403
    label = "Unauthorized"


class InvalidRole(AccessDenied):
    status = 403
    message = "Access denied: Invalid role"


class InvalidJWT(StorageError):
    code = "storage.InvalidJWT"
    message = "jwt malformed"


class InvalidSignature(StorageError):
    code = "storage.InvalidSignature"
    message = "Invalid signature"


class InvalidRange(StorageError):
    status = 416
    code = "storage.InvalidRange"
    message = "invalid range provided"
    semantic_status = 416
    label = "invalid_range"


class InvalidImage(StorageError):
    code = "storage.InvalidImage"
    message = "The source image is invalid or unsupported for rendering"


class MissingBlob(StorageError):
    code = "storage.MissingBlob"
    message = "The resource was not found"
    semantic_status = 404
    label = "Not found"

    @property
    def storage_code(self) -> str:
        return "NoSuchKey"


# Resumable uploads (tus): only ever rendered by the tus routes, as plain text.
class UploadGone(StorageError):
    code = "storage.UploadGone"
    message = "The file for this url no longer exists"
    semantic_status = 410


class UploadOffsetConflict(StorageError):
    code = "storage.UploadOffsetConflict"
    message = "Upload-Offset conflict"
    semantic_status = 409


class ChecksumMismatch(StorageError):
    code = "storage.ChecksumMismatch"
    message = "Upload-Checksum does not match the received chunk"
    semantic_status = 460


class UnsupportedUploadType(StorageError):
    code = "storage.UnsupportedUploadType"
    message = "Content-Type must be application/offset+octet-stream"
    semantic_status = 415


class TusVersionMismatch(StorageError):
    code = "storage.TusVersionMismatch"
    message = "Unsupported version (Tus-Resumable must be 1.0.0)"
    semantic_status = 412
