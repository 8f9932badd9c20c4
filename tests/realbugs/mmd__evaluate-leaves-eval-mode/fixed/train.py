import math
import time

import numpy as np
import torch
import torch.nn as nn
import mmd.utils.utils as utils
import mmd.modules.torch_utils as torch_utils
import mmd.modules.models as models


def evaluate(valid_data, loss_criterion, model, config, vocab_size, use_cuda=False):
	model.eval()
	# with torch.no_grad():
	batch_size = config['data']['batch_size']
	num_valid_batch = int(math.ceil(float(len(valid_data))/float(batch_size)))
	total_loss = 0.
	for batch_id in range(num_valid_batch):
		batch_data = valid_data[batch_id*batch_size:(batch_id+1)*batch_size]
		text_enc_input, text_enc_in_len, image_enc_input, dec_text_input,\
			dec_out_seq, dec_seq_length = utils.get_batch_mmd_data(batch_data, use_cuda=use_cuda, volatile=True)
		dec_output_prob = model(text_enc_input, image_enc_input, text_enc_in_len,
						dec_text_input, dec_out_seq, teacher_forcing_ratio=1, decode=False)
		loss_val = loss_criterion(dec_output_prob.contiguous().view(-1, vocab_size),
			dec_out_seq.view(-1))
		total_loss += loss_val.item()
	print('Valid Loss: Loss: %.6f' % (total_loss / max(num_valid_batch, 1)))
	model.train()

def main(args, config, vocab_size, train_data, valid_data, use_cuda=False):
	model_type = getattr(models, args.model_type)
	model = model_type(src_vocab_size=vocab_size,
				tgt_vocab_size=vocab_size,
				dropout_enc=config['model']['dropout_enc'],
				dropout_dec=config['model']['dropout_dec'],
				dropout_context=config['model']['dropout_context'])
	model = torch_utils.gpu_wrapper(model, use_cuda=use_cuda)
	optimizer = torch.optim.Adam(model.parameters(), lr=config['training']['lr'])
	loss_criterion = nn.CrossEntropyLoss(ignore_index=config['data']['pad_id'])
	batch_size = config['data']['batch_size']
	num_train_batch = int(math.ceil(float(len(train_data))/float(batch_size)))
	for epoch in range(config['training']['num_epochs']):
		for batch_id in range(num_train_batch):
			batch_data = train_data[batch_id*batch_size:(batch_id+1)*batch_size]
			text_enc_input, text_enc_in_len, image_enc_input, dec_text_input,\
				dec_out_seq, dec_seq_length = utils.get_batch_mmd_data(batch_data, use_cuda=use_cuda)
			optimizer.zero_grad()
			dec_output_prob = model(text_enc_input, image_enc_input, text_enc_in_len,
							dec_text_input, dec_out_seq, teacher_forcing_ratio=1)
			loss = loss_criterion(dec_output_prob.contiguous().view(-1, vocab_size),
				dec_out_seq.view(-1))
			loss.backward()
			nn.utils.clip_grad_norm_(model.parameters(), config['training']['clip_grad'])
			optimizer.step()
		if (epoch+1) % config['training']['evaluate_every'] == 0:
			print("\nEvaluation:")
			evaluate(valid_data, loss_criterion, model, config, vocab_size, use_cuda=use_cuda)
		# Save the models
		if (epoch+1) % config['training']['save_every'] == 0:
			torch.save(model.state_dict(), 'model_params_%d.pkl' % (epoch+1))
