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
    code = "storage.invalid_request"
    message = "The request is not valid."
    storage_code: ClassVar[str] = "InvalidRequest"
    """Supabase Storage's error code (``NoSuchKey``); ``code`` is apprun's."""
    semantic_status: ClassVar[int] = 400
    label: ClassVar[str | None] = None
    """Storage's legacy ``error`` field; None = the storage code itself."""

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
    code = "storage.invalid_parameter"
    storage_code = "InvalidParameter"
    message = "Invalid Parameter"


class NoSuchBucket(StorageError):
    code = "storage.no_such_bucket"
    storage_code = "NoSuchBucket"
    message = "Bucket not found"
    semantic_status = 404
    label = "Bucket not found"


class NoSuchKey(StorageError):
    code = "storage.no_such_key"
    storage_code = "NoSuchKey"
    message = "Object not found"
    semantic_status = 404
    label = "not_found"


class NoSuchUpload(StorageError):
    code = "storage.no_such_upload"
    storage_code = "NoSuchUpload"
    message = "The file for this url was not found"
    semantic_status = 404
    label = "not_found"


class KeyAlreadyExists(StorageError):
    code = "storage.key_already_exists"
    storage_code = "KeyAlreadyExists"
    message = "The resource already exists"
    semantic_status = 409
    label = "Duplicate"


class BucketAlreadyExists(StorageError):
    code = "storage.bucket_already_exists"
    storage_code = "BucketAlreadyExists"
    message = "The resource already exists"
    semantic_status = 409
    label = "Duplicate"


class ResourceAlreadyExists(StorageError):
    code = "storage.resource_already_exists"
    storage_code = "ResourceAlreadyExists"
    message = "The resource already exists"
    semantic_status = 409
    label = "Duplicate"


class ResourceNotEmpty(StorageError):
    code = "storage.resource_not_empty"
    storage_code = "ResourceNotEmpty"
    message = "The bucket you tried to delete is not empty"
    semantic_status = 409


class InvalidBucketName(StorageError):
    code = "storage.invalid_bucket_name"
    storage_code = "InvalidBucketName"
    message = "Bucket name invalid"
    label = "Invalid Input"


class InvalidKey(StorageError):
    code = "storage.invalid_key"
    storage_code = "InvalidKey"
    message = "Invalid key"


class InvalidMimeType(StorageError):
    code = "storage.invalid_mime_type"
    storage_code = "InvalidMimeType"
    message = "mime type is not supported"
    semantic_status = 415
    label = "invalid_mime_type"


class EntityTooLarge(StorageError):
    code = "storage.entity_too_large"
    storage_code = "EntityTooLarge"
    message = "The object exceeded the maximum allowed size"
    semantic_status = 413
    label = "Payload too large"


class QuotaExceeded(StorageError):
    code = "storage.quota_exceeded"
    storage_code = "QuotaExceeded"
    message = "The project's storage quota is exhausted"
    semantic_status = 413
    label = "Payload too large"


class AccessDenied(StorageError):
    code = "storage.access_denied"
    storage_code = "AccessDenied"
    message = "new row violates row-level security policy"
    semantic_status = 403
    label = "Unauthorized"


class InvalidRole(AccessDenied):
    status = 403
    message = "Access denied: Invalid role"


class InvalidJWT(StorageError):
    code = "storage.invalid_j_w_t"
    storage_code = "InvalidJWT"
    message = "jwt malformed"


class InvalidSignature(StorageError):
    code = "storage.invalid_signature"
    storage_code = "InvalidSignature"
    message = "Invalid signature"


class InvalidRange(StorageError):
    status = 416
    code = "storage.invalid_range"
    storage_code = "InvalidRange"
    message = "invalid range provided"
    semantic_status = 416
    label = "invalid_range"


class InvalidImage(StorageError):
    code = "storage.invalid_image"
    storage_code = "InvalidImage"
    message = "The source image is invalid or unsupported for rendering"


class ImageTooLarge(StorageError):
    code = "storage.image_too_large"
    storage_code = "ImageTooLarge"
    message = "The source image is too large to render"
    semantic_status = 413
    label = "Payload too large"


class NoSuchVersion(StorageError):
    code = "storage.no_such_version"
    storage_code = "NoSuchVersion"
    message = "Object version not found"
    semantic_status = 404
    label = "not_found"


class MissingBlob(StorageError):
    code = "storage.missing_blob"
    storage_code = "NoSuchKey"
    message = "The resource was not found"
    semantic_status = 404
    label = "Not found"


# Resumable uploads (tus): only ever rendered by the tus routes, as plain text.
class UploadGone(StorageError):
    code = "storage.upload_gone"
    storage_code = "UploadGone"
    message = "The file for this url no longer exists"
    semantic_status = 410


class UploadOffsetConflict(StorageError):
    code = "storage.upload_offset_conflict"
    storage_code = "UploadOffsetConflict"
    message = "Upload-Offset conflict"
    semantic_status = 409


class ChecksumMismatch(StorageError):
    code = "storage.checksum_mismatch"
    storage_code = "ChecksumMismatch"
    message = "Upload-Checksum does not match the received chunk"
    semantic_status = 460


class UnsupportedUploadType(StorageError):
    code = "storage.unsupported_upload_type"
    storage_code = "UnsupportedUploadType"
    message = "Content-Type must be application/offset+octet-stream"
    semantic_status = 415


class TusVersionMismatch(StorageError):
    code = "storage.tus_version_mismatch"
    storage_code = "TusVersionMismatch"
    message = "Unsupported version (Tus-Resumable must be 1.0.0)"
    semantic_status = 412
