import { PhError } from '../../contract/errors';
import { oauthErrors, type OAuthErrorBody, type OAuthErrorName } from '../../contract/oauth';

/**
 * A refusal of an OAuth endpoint: an RFC 6749 §5.2 error name, and the catalogue error for the same
 * failure (its code and status), so the body carries both and the status comes from the catalogue.
 */
export class OAuthError extends PhError {
  constructor(
    readonly oauth: OAuthErrorName,
    description: string,
  ) {
    super(oauthErrors[oauth], description);
  }

  toOAuthBody(): OAuthErrorBody {
    return { error: this.oauth, error_description: this.message, code: this.code };
  }
}
