//! First run: enrol the tablet with the server (one-time code from an
//! admin), then each technician (their own code and a PIN).

use hearth_protocol::api::{EnrollDeviceRequest, EnrollTechnicianRequest};
use hearth_protocol::seal::kid_of;
use hearth_protocol::{SigningKey, b64, hash};
use hearth_store::{Pin, ServerLink, StoreError};
use rand_core::OsRng;

use crate::client::ServerClient;
use crate::engine::{SharedStore, lock};
use crate::{SyncError, now_ms};

/// Enrols this tablet: fetches and keeps the server's receipt key, sends
/// the device's public key with the one-time code, and stores the link.
/// Returns the device id.
pub async fn enrol_device(
    store: &SharedStore,
    server_url: &str,
    code: &str,
    name: &str,
) -> Result<String, SyncError> {
    let client = ServerClient::new(server_url, None)?;
    let key = client.server_key().await?;
    let public_key = b64::decode_array::<32>(&key.public_key)
        .ok_or_else(|| SyncError::BadAnswer("the server key is not 32 bytes of base64url".into()))?;
    if hash::kid(&public_key) != key.kid {
        return Err(SyncError::BadAnswer("the server key does not match its kid".into()));
    }
    let pubkey = b64::encode(lock(store).identity().public_key().as_bytes());
    let answer = client
        .enrol_device(&EnrollDeviceRequest { code: code.to_owned(), pubkey, name: name.to_owned() })
        .await?;
    let link = ServerLink {
        server_url: client.base().to_owned(),
        device_token: answer.token,
        server_kid: key.kid,
        server_public_key: public_key,
    };
    lock(store).link_server(&answer.device_id, &link, now_ms())?;
    Ok(answer.device_id)
}

/// Enrols a technician on this tablet: a new key, bound on the server with
/// their one-time code, then wrapped under their PIN and stored. Nothing is
/// stored until the server has accepted the key, so a refused code leaves no
/// technician on the tablet to offer at sign-in. Returns the key's kid.
pub async fn enrol_technician(
    store: &SharedStore,
    tech_id: &str,
    code: &str,
    pin: &Pin,
) -> Result<String, SyncError> {
    let link = lock(store).server_link()?.ok_or(SyncError::NotLinked)?;
    let key = SigningKey::generate(&mut OsRng);
    let public_key = key.verifying_key();
    let client = ServerClient::new(&link.server_url, Some(link.device_token))?;
    let answer = client
        .enrol_technician(&EnrollTechnicianRequest {
            code: code.to_owned(),
            tech_id: tech_id.to_owned(),
            pubkey: b64::encode(public_key.as_bytes()),
        })
        .await?;
    if answer.kid != kid_of(&public_key) {
        return Err(SyncError::Store(StoreError::Corrupt("the server bound a different key".into())));
    }
    let enrolled = lock(store).enrol_technician_with_key(tech_id, pin, key)?;
    Ok(enrolled.kid)
}
