"""The auth module's errors. Each carries GoTrue's ``error_code`` (the part of ``code`` after
``auth.``), so ``/auth/v1`` answers in the shape supabase-js and supabase-py parse."""

from __future__ import annotations

from typing import Any, ClassVar

from apprun.core.errors import AppError


class AuthError(AppError):
    """Base: ``code`` is ``auth.<GoTrue error_code>``."""

    status = 400
    code = "auth.validation_failed"
    message = "The request is not valid."
    extra: ClassVar[dict[str, Any]] = {}

    @property
    def error_code(self) -> str:
        return self.code.removeprefix("auth.")


class ValidationFailed(AuthError):
    pass


class BadJson(AuthError):
    code = "auth.bad_json"
    message = "The request body is not valid JSON of the expected shape."


class NoAuthorization(AuthError):
    status = 401
    code = "auth.no_authorization"
    message = "This endpoint requires a valid Bearer token."


class BadJwt(AuthError):
    status = 403
    code = "auth.bad_jwt"
    message = "Invalid JWT: the token is malformed, expired or not signed by this project."


class NotAdmin(AuthError):
    status = 403
    code = "auth.not_admin"
    message = "User not allowed: this needs the service_role key."


class UserNotFound(AuthError):
    status = 404
    code = "auth.user_not_found"
    message = "User not found."


class SessionNotFound(AuthError):
    status = 403
    code = "auth.session_not_found"
    message = "Session from session_id claim in JWT does not exist."


class SessionExpired(AuthError):
    code = "auth.session_expired"
    message = "The session has expired."


class RefreshTokenNotFound(AuthError):
    code = "auth.refresh_token_not_found"
    message = "Invalid Refresh Token: Refresh Token Not Found."


class RefreshTokenAlreadyUsed(AuthError):
    code = "auth.refresh_token_already_used"
    message = "Invalid Refresh Token: Already Used. The session has been revoked."


class InvalidCredentials(AuthError):
    code = "auth.invalid_credentials"
    message = "Invalid login credentials."


class EmailNotConfirmed(AuthError):
    code = "auth.email_not_confirmed"
    message = "Email not confirmed."


class UserBanned(AuthError):
    code = "auth.user_banned"
    message = "User is banned."


class SignupDisabled(AuthError):
    status = 422
    code = "auth.signup_disabled"
    message = "Signups not allowed for this instance."


class AnonymousDisabled(AuthError):
    status = 422
    code = "auth.anonymous_provider_disabled"
    message = "Anonymous sign-ins are disabled."


class EmailProviderDisabled(AuthError):
    status = 422
    code = "auth.email_provider_disabled"
    message = "Email logins are disabled."


class PhoneProviderDisabled(AuthError):
    code = "auth.phone_provider_disabled"
    message = "Phone logins are not supported by this server."


class UserAlreadyExists(AuthError):
    status = 422
    code = "auth.user_already_exists"
    message = "User already registered."


class EmailExists(AuthError):
    status = 422
    code = "auth.email_exists"
    message = "A user with this email address has already been registered."


class EmailAddressInvalid(AuthError):
    code = "auth.email_address_invalid"
    message = "The email address is not valid."


class WeakPassword(AuthError):
    status = 422
    code = "auth.weak_password"
    message = "The password is too weak."

    def __init__(self, reasons: list[str], message: str | None = None) -> None:
        super().__init__(message, details={"reasons": reasons})
        self.reasons = reasons


class SamePassword(AuthError):
    status = 422
    code = "auth.same_password"
    message = "New password should be different from the old password."


class CurrentPasswordRequired(AuthError):
    code = "auth.current_password_required"
    message = "The current password is required to change the password of an older session."


class CurrentPasswordInvalid(AuthError):
    code = "auth.current_password_invalid"
    message = "The current password is not correct."


class ReauthenticationNeeded(AuthError):
    code = "auth.reauthentication_needed"
    message = "Password update requires reauthentication."


class ReauthenticationNotValid(AuthError):
    status = 422
    code = "auth.reauthentication_not_valid"
    message = "Requested nonce is invalid or has expired."


class InsufficientAal(AuthError):
    status = 401
    code = "auth.insufficient_aal"
    message = "AAL2 session is required to update email or password when MFA is enabled."


class OtpExpired(AuthError):
    status = 403
    code = "auth.otp_expired"
    message = "Token has expired or is invalid."


class OtpDisabled(AuthError):
    status = 422
    code = "auth.otp_disabled"
    message = "Signups not allowed for otp."


class RateLimitedRequests(AuthError):
    status = 429
    code = "auth.over_request_rate_limit"
    message = "Request rate limit reached."


class RateLimitedEmails(AuthError):
    status = 429
    code = "auth.over_email_send_rate_limit"
    message = "Email rate limit exceeded."


class FlowStateNotFound(AuthError):
    status = 404
    code = "auth.flow_state_not_found"
    message = "Invalid flow state, no valid flow state found."


class FlowStateExpired(AuthError):
    status = 422
    code = "auth.flow_state_expired"
    message = "The flow state has expired: sign in again."


class BadCodeVerifier(AuthError):
    code = "auth.bad_code_verifier"
    message = "Code challenge does not match previously saved code verifier."


class ProviderDisabled(AuthError):
    code = "auth.provider_disabled"
    message = "This sign-in provider is not enabled."


class BadOAuthState(AuthError):
    code = "auth.bad_oauth_state"
    message = "OAuth state is invalid, expired or was already used."


class BadOAuthCallback(AuthError):
    code = "auth.bad_oauth_callback"
    message = "The OAuth callback is missing its code or state, or the provider refused."


class MfaFactorNotFound(AuthError):
    status = 404
    code = "auth.mfa_factor_not_found"
    message = "Factor not found."


class MfaVerificationFailed(AuthError):
    status = 422
    code = "auth.mfa_verification_failed"
    message = "Invalid TOTP code entered."


class MfaChallengeExpired(AuthError):
    status = 422
    code = "auth.mfa_challenge_expired"
    message = "The MFA challenge has expired or was already used: create a new one."


class MfaFactorNameConflict(AuthError):
    status = 422
    code = "auth.mfa_factor_name_conflict"
    message = "A factor with this friendly name already exists."


class TooManyFactors(AuthError):
    status = 422
    code = "auth.too_many_enrolled_mfa_factors"
    message = "Maximum number of enrolled factors reached."


class MfaAnonymousUser(NoAuthorization):
    status = 403
    message = "Anonymous users cannot use multi-factor authentication."


class InsufficientAalToEnroll(InsufficientAal):
    status = 403
    message = "AAL2 required to enroll a new factor."


class InsufficientAalToUnenroll(InsufficientAal):
    status = 422
    message = "AAL2 required to unenroll a verified factor."


class InsufficientAalForRecoveryCodes(InsufficientAal):
    status = 403
    message = "AAL2 required to manage recovery codes: verify a factor first."


class MfaPhoneEnrollDisabled(AuthError):
    status = 422
    code = "auth.mfa_phone_enroll_not_enabled"
    message = "MFA enroll is disabled for Phone."


class MfaWebauthnEnrollDisabled(AuthError):
    status = 422
    code = "auth.mfa_webauthn_enroll_not_enabled"
    message = "MFA enroll is disabled for WebAuthn."


class MfaChallengeNotFound(MfaFactorNotFound):
    status = 422
    message = "MFA factor with the provided challenge ID not found."


class MfaIpAddressMismatch(AuthError):
    status = 422
    code = "auth.mfa_ip_address_mismatch"
    message = "Challenge and verify IP addresses mismatch."


# Admin users API and brute-force protection.
class InvalidUserId(ValidationFailed):
    """GoTrue answers a user id that is not a UUID with 404 ``validation_failed``."""

    status = 404
    message = "The user id must be a UUID."


# OAuth / OpenID Connect sign-in (apprun as the client) and its providers
class FlowStateAlreadyUsed(AuthError):
    code = "auth.flow_state_already_used"
    message = "This OAuth sign-in was already completed: start it again."


class ProviderEmailNeedsVerification(AuthError):
    status = 403
    code = "auth.provider_email_needs_verification"
    message = (
        "The provider does not vouch for this email address, which another account uses: "
        "sign in to that account and link the provider, or verify the address at the provider."
    )


class ProviderDenied(BadOAuthCallback):
    """The provider answered the callback with an error (the user cancelled, say)."""

    status = 403
    message = "The provider did not authorize the sign-in."


class ProviderUnavailable(AuthError):
    status = 502
    code = "auth.oauth_provider_unavailable"
    message = "The sign-in provider did not answer as expected: try again later."


class ProviderNotFound(AuthError):
    status = 404
    code = "auth.provider_not_found"
    message = "No sign-in provider of this name."


class ProviderExists(AuthError):
    status = 409
    code = "auth.provider_exists"
    message = "A sign-in provider of this name already exists."


# Email flows
class EmailSendFailed(AuthError):
    """The project's SMTP server refused or did not answer; nothing was changed."""

    status = 500
    code = "auth.email_send_failed"
    message = "Error sending the email: check the project's SMTP settings."


class VerifyUserBanned(UserBanned):
    """``POST /verify`` answers a banned user with 403 (sign-in with 400)."""

    status = 403


class ReauthenticationEmailNotConfirmed(EmailNotConfirmed):
    """``GET /reauthenticate`` for an unconfirmed address: 422, as GoTrue."""

    status = 422


class PhoneExists(AuthError):
    status = 422
    code = "auth.phone_exists"
    message = "A user with this phone number has already been registered."


class UserInUse(AuthError):
    status = 409
    code = "auth.conflict"
    message = (
        "Rows of the project's collections still reference this user through a relation "
        "with on_delete restrict: delete or reassign them first."
    )
